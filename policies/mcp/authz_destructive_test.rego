# Tests of mcp.authz for destructive tools: roles, approvals and shared principals.
package mcp.authz_test

# --- tools/call: destructive ---------------------------------------------------

# The default catalogue without destructive_approval: only a destructive role deletes.
_no_approval := object.remove(data.catalogue, ["destructive_approval"])

_approval_obligation := {"approval": {
	"approvers": {"roles": ["admin"]},
	"grant_ttl_seconds": 300,
	"reason": "fs_delete is destructive: a holder of role admin must approve this exact call",
}}

test_writer_delete_allowed_with_approval_obligation if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null)
	d == {
		"allow": true,
		"reasons": [],
		"obligations": _approval_obligation,
		"visible": null,
		"required_scopes": [],
	}
}

test_writer_delete_via_scope_needs_approval if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _principal([], ["mcp:write"]), null)
	d.allow == true
	d.obligations == _approval_obligation
}

test_writer_delete_in_session_scope_needs_approval if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, _session(["fs_read", "fs_delete"]))
	d.allow == true
	d.obligations == _approval_obligation
}

test_writer_delete_outside_prefixes_denied_without_obligation if {
	d := _decide(_call("fs_delete", {"path": "/etc/passwd"}), _writer, null)
	_denied_with(d, {"argument_not_allowed"})
	d.obligations == {}
}

test_writer_delete_outside_session_scope_denied_without_obligation if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, _session(["fs_read"]))
	_denied_with(d, {"tool_not_in_session_scope"})
	d.obligations == {}
}

test_writer_cannot_delete_without_destructive_approval if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as _no_approval
	_denied_with(d, {"destructive_requires_role"})
	d.reasons[0].message == "tool 'fs_delete' is destructive and requires one of the roles: admin"
	d.obligations == {}
}

test_malformed_destructive_approval_is_absent if {
	every value in [true, "admins", ["admin"], null] {
		catalogue := object.union(data.catalogue, {"destructive_approval": value})
		d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
		_denied_with(d, {"destructive_requires_role"})
		d.obligations == {}
	}
}

# The default catalogue with destructive_approval set to value, exactly.
_approval_as(value) := json.patch(data.catalogue, [{"op": "replace", "path": "/destructive_approval", "value": value}])

test_destructive_approval_without_approvers_is_passed_on_for_the_engine_to_refuse if {
	# approvers null: the engine denies approval_invalid; the call is never let through
	# without the obligation.
	catalogue := _approval_as({"grant_ttl_seconds": 60})
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
	d.allow == true
	d.obligations == {"approval": {
		"approvers": null,
		"grant_ttl_seconds": 60,
		"reason": "fs_delete is destructive: an approver must approve this exact call",
	}}
}

test_destructive_approval_settings_passed_on if {
	approval := {
		"approvers": {"roles": ["owner", "admin"], "subjects": ["bob"], "groups": ["dba"]},
		"request_ttl_seconds": 600,
		"ignored": true,
	}
	catalogue := _approval_as(approval)
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
	d.allow == true
	d.obligations == {"approval": {
		"approvers": {"roles": ["owner", "admin"], "subjects": ["bob"], "groups": ["dba"]},
		"request_ttl_seconds": 600,
		"reason": concat("", [
			"fs_delete is destructive: a holder of role admin or owner, or subject bob, ",
			"or a member of group dba must approve this exact call",
		]),
	}}
}

test_destructive_approval_by_self if {
	catalogue := _approval_as({"approvers": "self"})
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
	d.obligations == {"approval": {
		"approvers": "self",
		"reason": "fs_delete is destructive: you (after signing in again) must approve this exact call",
	}}
}

test_approval_reason_stays_short if {
	many := [sprintf("approver-%03d-with-a-rather-long-name", [i]) | some i in numbers.range(1, 40)]
	catalogue := _approval_as({"approvers": {"subjects": many}})
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
	d.obligations.approval.approvers == {"subjects": many}
	d.obligations.approval.reason == "fs_delete is destructive: an approver must approve this exact call"
}

test_reader_delete_reports_both_reasons if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _reader, null)
	_denied_with(d, {"tool_not_permitted", "destructive_requires_role"})
	d.obligations == {}
	d2 := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _reader, null) with data.catalogue as _no_approval
	_denied_with(d2, {"tool_not_permitted", "destructive_requires_role"})
}

test_admin_deletes if {
	_allowed(_decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _admin, null))
	_allowed(_decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _principal(["writer", "admin"], []), null))
	_allowed(_decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _admin, null)) with data.catalogue as _no_approval
}

test_admin_via_scope_deletes if {
	_allowed(_decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _principal([], ["mcp:admin"]), null))
}

test_non_destructive_call_has_no_obligation if {
	_allowed(_decide(_call("fs_write", {"path": "/srv/data/a.txt"}), _writer, null))
}

test_destructive_flag_must_be_true if {
	catalogue := object.union(data.catalogue, {"tools": {"fs_delete": {"destructive": "yes"}}})
	_allowed(_decide(_call("fs_delete", {"path": "/srv/data/a"}), _writer, null)) with data.catalogue as catalogue
}

# --- shared principals ---------------------------------------------------------

_shared(principal) := object.union(principal, {"shared": true, "usage": {"clients": 4, "workloads": 0, "chains": 1}})

test_shared_principal_is_refused_destructive_tools_whatever_its_role if {
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _shared(_admin), null)
	_denied_with(d, {"shared_principal_destructive"})
	startswith(d.reasons[0].message, "tool 'fs_delete' is destructive and the principal is shared")
}

test_shared_principal_keeps_its_other_tools if {
	_allowed(_decide(_read("/srv/data/a.txt"), _shared(_admin), null))
	_allowed(_decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), object.union(_admin, {"shared": false}), null))
}

test_shared_principal_is_not_shown_destructive_tools if {
	_decide(_list("tools/list", null), _shared(_admin), null).visible == ["fs_list", "fs_read", "fs_write", "search_docs"]
	_decide(_list("tools/list", null), _shared(_writer), _session(["fs_read", "fs_delete"])).visible == ["fs_read"]
}

test_shared_destructive_allow_lifts_the_refusal if {
	catalogue := object.union(data.catalogue, {"shared_destructive": "allow"})
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _shared(_admin), null) with data.catalogue as catalogue
	_allowed(d)
}
