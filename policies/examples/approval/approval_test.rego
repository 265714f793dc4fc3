package mcp.examples.approval_test

import data.mcp.examples.approval

_call(tool, args) := {"request": {"method": "tools/call", "tool": tool, "arguments": args}}

test_read_allowed_without_obligation if {
	d := approval.decision with input as _call("fs_read", {"path": "/a"})
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}
}

test_delete_needs_the_requesters_own_confirmation if {
	d := approval.decision with input as _call("fs_delete", {"path": "/srv/data/a.txt"})
	d == {
		"allow": true,
		"reasons": [],
		"obligations": {"approval": {
			"approvers": "self",
			"grant_ttl_seconds": 120,
			"reason": "fs_delete deletes '/srv/data/a.txt': confirm it is you, after signing in again",
		}},
		"visible": null,
	}
}

test_delete_reason_without_or_with_a_long_path if {
	d := approval.decision with input as _call("fs_delete", {})
	d.obligations.approval.reason == "fs_delete deletes '(no path)': confirm it is you, after signing in again"
	long := concat("", [x | some _ in numbers.range(1, 300); x := "a"])
	l := approval.decision with input as _call("fs_delete", {"path": long})
	count(l.obligations.approval.reason) < 1024
}

test_drop_needs_a_dba if {
	d := approval.decision with input as _call("db_drop", {"database": "orders_2019"})
	d == {
		"allow": true,
		"reasons": [],
		"obligations": {"approval": {
			"approvers": {"subjects": ["carol", "dba-oncall"], "groups": ["dba"]},
			"grant_ttl_seconds": 300,
			"request_ttl_seconds": 3600,
			"reason": "db_drop drops the database 'orders_2019': a DBA must approve this exact call",
		}},
		"visible": null,
	}
}

test_drop_approvers_follow_the_subject_list if {
	d := approval.decision with input as _call("db_drop", {"database": "orders"}) with approval.dba_subjects as ["dave"]
	d.obligations.approval.approvers == {"subjects": ["dave"], "groups": ["dba"]}
}

test_old_approval_reference_no_longer_lifts_the_approval if {
	d := approval.decision with input as _call("db_drop", {"database": "orders", "approval_ref": "APR-1234"})
	d.allow
	d.obligations.approval.approvers == {"subjects": ["carol", "dba-oncall"], "groups": ["dba"]}
}

test_drop_with_a_bad_database_denied_without_obligation if {
	every args in [{}, {"database": ""}, {"database": 7}, {"database": "orders; drop table x"}, "orders"] {
		d := approval.decision with input as _call("db_drop", args)
		not d.allow
		[r.code | some r in d.reasons] == ["argument_not_allowed"]
		d.obligations == {}
	}
}

test_unknown_tool_and_method_denied_without_obligation if {
	[r.code | some r in approval.decision.reasons] == ["tool_unknown"] with input as _call("shell", {})
	[r.code | some r in approval.decision.reasons] == ["tool_unknown"] with input as _call(null, {})
	[r.code | some r in approval.decision.reasons] == ["method_not_permitted"] with input as {}
	d := approval.decision with input as {"request": {"method": "tools/list", "tool": "fs_delete"}}
	not d.allow
	d.obligations == {}
}

test_obligation_kept_when_no_reason_can_be_built if {
	d := approval.decision with input as _call("fs_delete", {"path": "/a"}) with approval._reason as {}
	d.obligations == {"approval": {"approvers": "self", "grant_ttl_seconds": 120}}
}
