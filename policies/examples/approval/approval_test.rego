package mcp.examples.approval_test

import data.mcp.examples.approval

_call(tool, args) := {"request": {"method": "tools/call", "tool": tool, "arguments": args}}

test_read_allowed_without_obligation if {
	d := approval.decision with input as _call("fs_read", {"path": "/a"})
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}
}

test_delete_needs_approval if {
	d := approval.decision with input as _call("fs_delete", {"path": "/a"})
	d.allow
	d.obligations == {"require_approval": true, "approvers": ["data-owner", "secops"]}
}

test_delete_with_reference_has_no_obligation if {
	d := approval.decision with input as _call("db_drop", {"approval_ref": "APR-1234"})
	d.allow
	d.obligations == {}
}

test_malformed_reference_denied if {
	d := approval.decision with input as _call("db_drop", {"approval_ref": "yes"})
	not d.allow
	[r.code | some r in d.reasons] == ["approval_invalid"]
	d.obligations == {}
}

test_unknown_tool_and_method_denied if {
	[r.code | some r in approval.decision.reasons] == ["tool_unknown"] with input as _call("shell", {})
	[r.code | some r in approval.decision.reasons] == ["method_not_permitted"] with input as {}
}
