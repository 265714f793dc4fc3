package mcp.authz_test

import data.mcp.authz

# --- fixtures ------------------------------------------------------------------

_principal(roles, scopes) := {
	"iss": "https://issuer.example.com",
	"sub": "alice",
	"client_id": "client-1",
	"scopes": scopes,
	"roles": roles,
	"spiffe_id": null,
	"kind": "user",
	"claims": {},
}

_reader := _principal(["reader"], [])

_writer := _principal(["writer"], [])

_admin := _principal(["admin"], [])

_nobody := _principal([], [])

_request(method) := {
	"method": method,
	"tool": null,
	"arguments": null,
	"uri": null,
	"prompt": null,
	"protocol_version": "2025-11-25",
	"candidates": null,
	"tools": null,
}

_call(tool, arguments) := object.union(_request("tools/call"), {"tool": tool, "arguments": arguments})

_session(scope) := {
	"id_hash": "3f1c",
	"kind": "mcp-session",
	"scope": scope,
	"created_at": 1,
	"expires_at": 2,
	"context": {},
}

_input(request, principal, session) := {
	"request": request,
	"principal": principal,
	"session": session,
	"server": {"id": "https://mcp.example.com/files"},
	"caller": {"id": "gateway-1", "role": "pep"},
	"now_ns": 1234,
}

_decide(request, principal, session) := d if {
	d := authz.decision with input as _input(request, principal, session)
}

_codes(d) := {r.code | some r in d.reasons}

_allowed(d) if {
	d.allow == true
	d.reasons == []
	d.obligations == {}
}

_denied_with(d, codes) if {
	d.allow == false
	_codes(d) == codes
}

_read(path) := _call("fs_read", {"path": path})

# --- shape ---------------------------------------------------------------------

test_decision_defined_for_empty_input if {
	d := authz.decision with input as {}
	_denied_with(d, {"method_not_permitted"})
	d.obligations == {}
	d.visible == null
}

test_decision_defined_without_input if {
	_denied_with(authz.decision, {"method_not_permitted"})
}

test_decision_defined_for_malformed_request if {
	d := authz.decision with input as {"request": "tools/call", "principal": 7, "session": null}
	_denied_with(d, {"method_not_permitted"})
}

test_allowed_call_has_empty_reasons_and_null_visible if {
	d := _decide(_read("/srv/data/a.txt"), _reader, null)
	_allowed(d)
	d.visible == null
}

test_reasons_are_sorted if {
	d := _decide(_call("fs_delete", {"path": "/etc/passwd"}), _reader, _session(["fs_read"]))
	d.reasons == sort(d.reasons)
	[r.code | some r in d.reasons] == [
		"argument_not_allowed",
		"destructive_requires_role",
		"tool_not_in_session_scope",
		"tool_not_permitted",
	]
}

# --- methods -------------------------------------------------------------------

test_open_methods_allowed if {
	every method in ["initialize", "ping", "server/discover", "notifications/initialized", "notifications/cancelled"] {
		_allowed(_decide(_request(method), _nobody, null))
	}
}

test_transport_operations_allowed if {
	every method in ["transport/stream", "transport/close", "transport/response"] {
		_allowed(_decide(_request(method), _nobody, null))
	}
}

test_other_transport_method_denied if {
	_denied_with(_decide(_request("transport/other"), _admin, null), {"method_not_permitted"})
}

test_unknown_method_denied if {
	d := _decide(_request("skills/list"), _admin, null)
	_denied_with(d, {"method_not_permitted"})
	d.reasons[0].message == "method 'skills/list' is not permitted by policy"
}

test_server_to_client_requests_refused_with_their_reason if {
	every method in ["roots/list", "sampling/createMessage", "elicitation/create"] {
		d := _decide(_request(method), _admin, null)
		_denied_with(d, {"method_not_permitted"})
		d.reasons[0].message == concat("", [
			"method '", method,
			"' is a request a server sends to a client; the client answers it, it does not send it",
		])
		d.required_scopes == []
	}
}

test_logging_set_level_allowed_for_anyone if {
	d := _decide(_request("logging/setLevel"), _nobody, _session([]))
	_allowed(d)
	d.visible == null
}

test_subscriptions_listen_allowed_for_anyone if {
	_allowed(_decide(_request("subscriptions/listen"), _nobody, null))
}

test_client_notifications_allowed if {
	every method in ["notifications/progress", "notifications/roots/list_changed", "notifications/tasks/status"] {
		_allowed(_decide(_request(method), _nobody, null))
	}
}

test_non_string_method_denied if {
	_denied_with(_decide(_request(42), _admin, null), {"method_not_permitted"})
}

test_notifications_prefix_needs_slash if {
	_denied_with(_decide(_request("notifications"), _admin, null), {"method_not_permitted"})
}

# --- tools/call: roles ---------------------------------------------------------

test_reader_role_calls_fs_read if {
	_allowed(_decide(_read("/srv/data/report.txt"), _reader, null))
}

test_scope_maps_to_role if {
	_allowed(_decide(_read("/srv/data/report.txt"), _principal([], ["openid", "mcp:read"]), null))
}

test_reader_calls_search_docs_without_arguments if {
	_allowed(_decide(_call("search_docs", null), _reader, null))
}

test_no_role_denied if {
	d := _decide(_read("/srv/data/a.txt"), _nobody, null)
	_denied_with(d, {"tool_not_permitted"})
	d.reasons[0].message == "no role of the principal permits tool 'fs_read'"
}

test_undefined_role_ignored if {
	d := _decide(_read("/srv/data/a.txt"), _principal(["superuser", 3], ["mcp:root", 4]), null)
	_denied_with(d, {"tool_not_permitted"})
}

test_reader_cannot_write if {
	_denied_with(_decide(_call("fs_write", {"path": "/srv/data/a.txt"}), _reader, null), {"tool_not_permitted"})
}

test_writer_writes if {
	_allowed(_decide(_call("fs_write", {"path": "/srv/data/a.txt"}), _writer, null))
}

# --- tools/call: unknown tools -------------------------------------------------

test_unknown_tool_denied_with_one_reason if {
	d := _decide(_call("rm_rf", {"path": "/srv/data/a"}), _admin, _session(["fs_read"]))
	_denied_with(d, {"tool_unknown"})
	d.reasons[0].message == "tool 'rm_rf' is not in the catalogue"
}

test_missing_tool_denied if {
	d := _decide(_call(null, null), _admin, null)
	_denied_with(d, {"tool_unknown"})
	d.reasons[0].message == "tool '(missing)' is not in the catalogue"
}

test_absent_request_fields_denied if {
	principal := _principal(["admin"], [])
	d1 := authz.decision with input as {"request": {"method": "tools/call"}, "principal": principal}
	_denied_with(d1, {"tool_unknown"})
	d1.reasons[0].message == "tool '(missing)' is not in the catalogue"
	d2 := authz.decision with input as {"request": {"method": "tools/call", "tool": "fs_read"}, "principal": principal}
	_denied_with(d2, {"argument_not_allowed"})
	d3 := authz.decision with input as {"request": {"method": "prompts/get"}, "principal": principal}
	_denied_with(d3, {"prompt_not_permitted"})
	d3.reasons[0].message == "no role of the principal permits prompt '(missing)'"
	d4 := authz.decision with input as {"request": {"method": "resources/read"}, "principal": principal}
	_denied_with(d4, {"resource_not_permitted"})
	d4.reasons[0].message == "resource '(missing)' is not under a permitted prefix"
}

test_non_string_tool_denied if {
	d := _decide(_call(["fs_read"], null), _admin, null)
	_denied_with(d, {"tool_unknown"})
	d.reasons[0].message == "tool '(not a string)' is not in the catalogue"
}

test_empty_catalogue_denies if {
	d := _decide(_read("/srv/data/a.txt"), _admin, null) with data.catalogue as {}
	_denied_with(d, {"tool_unknown"})
}

test_malformed_catalogue_denies if {
	d := _decide(_read("/srv/data/a.txt"), _admin, null) with data.catalogue as {"tools": [], "roles": "admin"}
	_denied_with(d, {"tool_unknown"})
}

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

test_destructive_approval_without_approvers_is_passed_on_for_the_engine_to_refuse if {
	# approvers null: the engine denies approval_invalid; the call is never let through
	# without the obligation.
	catalogue := json.patch(data.catalogue, [{"op": "replace", "path": "/destructive_approval", "value": {"grant_ttl_seconds": 60}}])
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
	catalogue := json.patch(data.catalogue, [{"op": "replace", "path": "/destructive_approval", "value": approval}])
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
	d.allow == true
	d.obligations == {"approval": {
		"approvers": {"roles": ["owner", "admin"], "subjects": ["bob"], "groups": ["dba"]},
		"request_ttl_seconds": 600,
		"reason": "fs_delete is destructive: a holder of role admin or owner, or subject bob, or a member of group dba must approve this exact call",
	}}
}

test_destructive_approval_by_self if {
	catalogue := json.patch(data.catalogue, [{"op": "replace", "path": "/destructive_approval", "value": {"approvers": "self"}}])
	d := _decide(_call("fs_delete", {"path": "/srv/data/a.txt"}), _writer, null) with data.catalogue as catalogue
	d.obligations == {"approval": {
		"approvers": "self",
		"reason": "fs_delete is destructive: you (after signing in again) must approve this exact call",
	}}
}

test_approval_reason_stays_short if {
	many := [sprintf("approver-%03d-with-a-rather-long-name", [i]) | some i in numbers.range(1, 40)]
	catalogue := json.patch(data.catalogue, [{"op": "replace", "path": "/destructive_approval", "value": {"approvers": {"subjects": many}}}])
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

# --- tools/call: session scope -------------------------------------------------

test_tool_in_session_scope_allowed if {
	_allowed(_decide(_read("/srv/data/a.txt"), _reader, _session(["fs_read", "fs_list"])))
}

test_tool_outside_session_scope_denied if {
	d := _decide(_call("fs_list", {"path": "/srv/data/"}), _reader, _session(["fs_read"]))
	_denied_with(d, {"tool_not_in_session_scope"})
	d.reasons[0].message == "tool 'fs_list' is not in the session's scope"
}

test_empty_session_scope_denies if {
	_denied_with(_decide(_read("/srv/data/a.txt"), _admin, _session([])), {"tool_not_in_session_scope"})
}

test_malformed_session_denies if {
	_denied_with(_decide(_read("/srv/data/a.txt"), _admin, "3f1c"), {"tool_not_in_session_scope"})
}

test_session_without_scope_denies if {
	_denied_with(_decide(_read("/srv/data/a.txt"), _admin, {"id_hash": "3f1c"}), {"tool_not_in_session_scope"})
}

test_absent_session_does_not_restrict if {
	_allowed(authz.decision) with input as object.remove(_input(_read("/srv/data/a.txt"), _reader, null), ["session"])
}

# --- tools/call: path argument -------------------------------------------------

test_path_outside_prefix_denied if {
	d := _decide(_read("/etc/passwd"), _reader, null)
	_denied_with(d, {"argument_not_allowed"})
	d.reasons[0].message == "argument 'path' must start with one of: /srv/data/"
}

test_path_prefix_lookalike_denied if {
	_denied_with(_decide(_read("/srv/database/x"), _reader, null), {"argument_not_allowed"})
}

test_path_prefix_without_slash_denied if {
	_denied_with(_decide(_read("/srv/data"), _reader, null), {"argument_not_allowed"})
}

test_path_traversal_denied if {
	every path in [
		"/srv/data/../etc/passwd",
		"/srv/data/a/../../etc",
		"/srv/data/..",
		"/srv/data/%2e%2e/etc",
		"/srv/data/%2E./etc",
		"/srv/data/..%2fetc",
		"/srv/data/..\\etc",
		"/srv/data/a\u0000.txt",
	] {
		d := _decide(_read(path), _reader, null)
		_denied_with(d, {"argument_not_allowed"})
		d.reasons[0].message == "argument 'path' must not contain a NUL character or a '..' segment"
	}
}

test_dots_inside_names_allowed if {
	every path in ["/srv/data/a..b", "/srv/data/.hidden", "/srv/data/./a", "/srv/data/...", "/srv/data/a/"] {
		_allowed(_decide(_read(path), _reader, null))
	}
}

test_path_missing_denied if {
	every arguments in [null, {}, {"file": "/srv/data/a"}, "path"] {
		d := _decide(_call("fs_read", arguments), _reader, null)
		_denied_with(d, {"argument_not_allowed"})
		d.reasons[0].message == "argument 'path' is missing or not a string"
	}
}

test_path_not_a_string_denied if {
	_denied_with(_decide(_call("fs_read", {"path": ["/srv/data/a"]}), _reader, null), {"argument_not_allowed"})
}

test_custom_path_argument_named_in_message if {
	catalogue := object.union(data.catalogue, {"tools": {"fs_read": {"path_argument": "file"}}})
	allowed := _decide(_call("fs_read", {"file": "/srv/data/a"}), _reader, null) with data.catalogue as catalogue
	_allowed(allowed)
	denied := _decide(_read("/srv/data/a"), _reader, null) with data.catalogue as catalogue
	_denied_with(denied, {"argument_not_allowed"})
	denied.reasons[0].message == "argument 'file' is missing or not a string"
}

test_path_argument_defaults_to_path if {
	catalogue := {
		"tools": {"t": {"path_prefixes": ["/srv/"]}},
		"roles": {"r": {"tools": ["t"]}},
	}
	_allowed(_decide(_call("t", {"path": "/srv/x"}), _principal(["r"], []), null)) with data.catalogue as catalogue
	_denied_with(_decide(_call("t", {"path": "/x"}), _principal(["r"], []), null), {"argument_not_allowed"}) with data.catalogue as catalogue
}

test_non_string_path_argument_falls_back_to_path if {
	catalogue := {
		"tools": {"t": {"path_argument": 1, "path_prefixes": ["/srv/"]}},
		"roles": {"r": {"tools": ["t"]}},
	}
	_allowed(_decide(_call("t", {"path": "/srv/x"}), _principal(["r"], []), null)) with data.catalogue as catalogue
}

test_malformed_prefixes_fail_closed if {
	every prefixes in [[], "/srv/", [""], [7], {}] {
		catalogue := {
			"tools": {"t": {"path_prefixes": prefixes}},
			"roles": {"r": {"tools": ["t"]}},
		}
		d := _decide(_call("t", {"path": "/srv/x"}), _principal(["r"], []), null) with data.catalogue as catalogue
		_denied_with(d, {"argument_not_allowed"})
	}
}

test_several_prefixes if {
	catalogue := object.union(data.catalogue, {"tools": {"fs_read": {"path_prefixes": ["/srv/data/", "/srv/public/"]}}})
	_allowed(_decide(_read("/srv/public/a"), _reader, null)) with data.catalogue as catalogue
	d := _decide(_read("/tmp/a"), _reader, null) with data.catalogue as catalogue
	d.reasons[0].message == "argument 'path' must start with one of: /srv/data/, /srv/public/"
}

# --- prompts/get ---------------------------------------------------------------

_get_prompt(name) := object.union(_request("prompts/get"), {"prompt": name})

test_reader_gets_summarize if {
	_allowed(_decide(_get_prompt("summarize"), _reader, null))
}

test_reader_cannot_get_review_changes if {
	d := _decide(_get_prompt("review_changes"), _reader, null)
	_denied_with(d, {"prompt_not_permitted"})
	d.reasons[0].message == "no role of the principal permits prompt 'review_changes'"
}

test_writer_gets_review_changes if {
	_allowed(_decide(_get_prompt("review_changes"), _writer, null))
}

test_missing_prompt_denied if {
	d := _decide(_get_prompt(null), _admin, null)
	_denied_with(d, {"prompt_not_permitted"})
	d.reasons[0].message == "no role of the principal permits prompt '(missing)'"
}

test_prompt_not_in_catalogue_denied if {
	catalogue := object.union(data.catalogue, {"roles": {"reader": {"prompts": ["summarize", "secret"]}}})
	_denied_with(_decide(_get_prompt("secret"), _reader, null), {"prompt_not_permitted"}) with data.catalogue as catalogue
}

# --- resources/read ------------------------------------------------------------

_read_resource(uri) := object.union(_request("resources/read"), {"uri": uri})

test_reader_reads_resource if {
	_allowed(_decide(_read_resource("file:///srv/data/report.txt"), _reader, null))
}

test_resource_outside_prefix_denied if {
	d := _decide(_read_resource("file:///etc/passwd"), _admin, null)
	_denied_with(d, {"resource_not_permitted"})
	d.reasons[0].message == "resource 'file:///etc/passwd' is not under a permitted prefix"
}

test_resource_traversal_denied if {
	every uri in ["file:///srv/data/../../etc/passwd", "file:///srv/data/%2E%2E/etc", "file:///srv/data/a\u0000"] {
		_denied_with(_decide(_read_resource(uri), _admin, null), {"resource_not_permitted"})
	}
}

test_missing_uri_denied if {
	d := _decide(_read_resource(null), _admin, null)
	_denied_with(d, {"resource_not_permitted"})
	d.reasons[0].message == "resource '(missing)' is not under a permitted prefix"
}

test_resource_needs_a_role if {
	_denied_with(_decide(_read_resource("file:///srv/data/a"), _nobody, null), {"resource_not_permitted"})
}

test_empty_resource_prefix_ignored if {
	catalogue := object.union(data.catalogue, {"roles": {"reader": {"resource_prefixes": ["", 5]}}})
	_denied_with(_decide(_read_resource("file:///etc/passwd"), _reader, null), {"resource_not_permitted"}) with data.catalogue as catalogue
}

# --- resources/subscribe and resources/unsubscribe -----------------------------

test_resource_subscription_decided_like_read if {
	every method in ["resources/subscribe", "resources/unsubscribe"] {
		_allowed(_decide(object.union(_request(method), {"uri": "file:///srv/data/a.txt"}), _reader, null))
		d := _decide(object.union(_request(method), {"uri": "file:///etc/passwd"}), _admin, null)
		_denied_with(d, {"resource_not_permitted"})
		d.reasons[0].message == "resource 'file:///etc/passwd' is not under a permitted prefix"
	}
}

test_resource_subscription_without_uri_denied if {
	every method in ["resources/subscribe", "resources/unsubscribe"] {
		d := _decide(_request(method), _admin, null)
		_denied_with(d, {"resource_not_permitted"})
		d.reasons[0].message == "resource '(missing)' is not under a permitted prefix"
	}
}

test_resource_subscription_traversal_denied if {
	d := _decide(object.union(_request("resources/subscribe"), {"uri": "file:///srv/data/../../etc"}), _admin, null)
	_denied_with(d, {"resource_not_permitted"})
}

test_resource_subscription_needs_a_role if {
	d := _decide(object.union(_request("resources/subscribe"), {"uri": "file:///srv/data/a"}), _nobody, null)
	_denied_with(d, {"resource_not_permitted"})
}

# --- completion/complete -------------------------------------------------------

_complete(ref) := object.union(_request("completion/complete"), ref)

test_completion_of_a_permitted_prompt_allowed if {
	_allowed(_decide(_complete({"prompt": "summarize"}), _reader, null))
}

test_completion_of_a_prompt_decided_like_prompts_get if {
	d := _decide(_complete({"prompt": "review_changes"}), _reader, null)
	_denied_with(d, {"prompt_not_permitted"})
	d.reasons[0].message == "no role of the principal permits prompt 'review_changes'"
	d.required_scopes == ["mcp:admin", "mcp:write"]
	_denied_with(_decide(_complete({"prompt": "no_such_prompt"}), _admin, null), {"prompt_not_permitted"})
}

test_completion_of_a_permitted_resource_allowed if {
	_allowed(_decide(_complete({"uri": "file:///srv/data/{name}"}), _reader, null))
}

test_completion_of_a_resource_decided_like_resources_read if {
	d := _decide(_complete({"uri": "file:///etc/{name}"}), _admin, null)
	_denied_with(d, {"resource_not_permitted"})
	d.reasons[0].message == "resource 'file:///etc/{name}' is not under a permitted prefix"
	_denied_with(_decide(_complete({"uri": "file:///srv/data/{name}"}), _nobody, null), {"resource_not_permitted"})
	_denied_with(_decide(_complete({"uri": "file:///srv/data/../{x}"}), _admin, null), {"resource_not_permitted"})
}

test_completion_without_a_ref_denied if {
	d := _decide(_request("completion/complete"), _admin, null)
	_denied_with(d, {"completion_ref_invalid"})
	d.reasons[0].message == "completion/complete needs a ref/prompt with a name or a ref/resource with a uri"
	d.required_scopes == []
}

test_completion_with_absent_ref_fields_denied if {
	d := authz.decision with input as {"request": {"method": "completion/complete"}, "principal": _admin}
	_denied_with(d, {"completion_ref_invalid"})
}

test_completion_with_both_refs_needs_both if {
	_allowed(_decide(_complete({"prompt": "summarize", "uri": "file:///srv/data/a"}), _reader, null))
	d := _decide(_complete({"prompt": "summarize", "uri": "file:///etc/a"}), _reader, null)
	_denied_with(d, {"resource_not_permitted"})
}

# --- tasks ---------------------------------------------------------------------

_task := {"id_hash": "9a0b", "kind": "task", "created_at": 1, "expires_at": 2}

_task_input(method, task) := object.union(_input(_request(method), _reader, null), {"task": task})

test_task_methods_allowed_with_the_engine_s_task if {
	every method in ["tasks/get", "tasks/result", "tasks/cancel", "tasks/update"] {
		d := authz.decision with input as _task_input(method, _task)
		_allowed(d)
		d.visible == null
	}
}

test_task_methods_allowed_for_any_role if {
	_allowed(authz.decision) with input as object.union(_task_input("tasks/get", _task), {"principal": _nobody})
}

test_task_methods_without_a_task_denied if {
	every method in ["tasks/get", "tasks/result", "tasks/cancel", "tasks/update"] {
		d := authz.decision with input as _task_input(method, null)
		_denied_with(d, {"task_unknown"})
		d.reasons[0].message == concat("", ["method '", method, "' names no live task of this principal on this server"])
		d.required_scopes == []
	}
}

test_task_methods_with_absent_or_malformed_task_denied if {
	_denied_with(_decide(_request("tasks/get"), _admin, null), {"task_unknown"})
	every task in ["9a0b", [], 1, true] {
		_denied_with(authz.decision, {"task_unknown"}) with input as _task_input("tasks/result", task)
	}
}

test_tasks_list_shows_the_sorted_candidates if {
	d := authz.decision with input as _input(_list("tasks/list", ["t-2", "t-1", 3, null]), _nobody, null)
	_allowed(d)
	d.visible == ["t-1", "t-2"]
}

test_tasks_list_without_candidates_shows_nothing if {
	_decide(_list("tasks/list", null), _admin, null).visible == []
	_decide(_list("tasks/list", "t-1"), _admin, null).visible == []
	_allowed(_decide(_list("tasks/list", []), _reader, null))
}

test_task_field_ignored_by_other_methods if {
	_denied_with(authz.decision, {"method_not_permitted"}) with input as _task_input("tasks/other", _task)
}

# --- tools/list ----------------------------------------------------------------

_list(method, candidates) := object.union(_request(method), {"candidates": candidates})

test_tools_list_reader_without_candidates if {
	d := _decide(_list("tools/list", null), _reader, null)
	_allowed(d)
	d.visible == ["fs_list", "fs_read", "search_docs"]
}

test_tools_list_shows_writer_the_destructive_tool_it_may_call_once_approved if {
	d := _decide(_list("tools/list", null), _writer, null)
	_allowed(d)
	d.visible == ["fs_delete", "fs_list", "fs_read", "fs_write", "search_docs"]
	_decide(_list("tools/list", null), _writer, _session(["fs_read", "fs_delete"])).visible == ["fs_delete", "fs_read"]
}

test_tools_list_hides_destructive_from_writer_without_destructive_approval if {
	d := _decide(_list("tools/list", null), _writer, null) with data.catalogue as _no_approval
	d.visible == ["fs_list", "fs_read", "fs_write", "search_docs"]
}

test_tools_list_admin_sees_all if {
	_decide(_list("tools/list", null), _admin, null).visible == ["fs_delete", "fs_list", "fs_read", "fs_write", "search_docs"]
}

test_tools_list_nobody_sees_nothing if {
	d := _decide(_list("tools/list", null), _nobody, null)
	_allowed(d)
	d.visible == []
}

test_tools_list_candidates_filtered if {
	d := _decide(_list("tools/list", ["fs_read", "fs_delete", "fs_write", "unknown_tool", 3]), _reader, null)
	_allowed(d)
	d.visible == ["fs_read"]
}

test_tools_list_empty_candidates if {
	_decide(_list("tools/list", []), _admin, null).visible == []
}

test_tools_list_malformed_candidates_show_nothing if {
	_decide(_list("tools/list", "fs_read"), _admin, null).visible == []
}

test_tools_list_limited_by_session if {
	_decide(_list("tools/list", null), _admin, _session(["fs_read", "fs_delete", "nope"])).visible == ["fs_delete", "fs_read"]
	_decide(_list("tools/list", null), _reader, _session(["fs_read", "fs_delete"])).visible == ["fs_read"]
}

test_tools_list_candidates_and_session if {
	d := _decide(_list("tools/list", ["fs_read", "fs_list", "fs_write"]), _writer, _session(["fs_read", "fs_write"]))
	d.visible == ["fs_read", "fs_write"]
}

# --- prompts/list and resources/list -------------------------------------------

test_prompts_list_without_candidates if {
	d := _decide(_list("prompts/list", null), _reader, null)
	_allowed(d)
	d.visible == ["summarize"]
	_decide(_list("prompts/list", null), _writer, null).visible == ["review_changes", "summarize"]
}

test_prompts_list_candidates_filtered if {
	d := _decide(_list("prompts/list", ["summarize", "review_changes", "other"]), _reader, null)
	d.visible == ["summarize"]
}

test_resources_list_candidates_filtered if {
	candidates := [
		"file:///srv/data/a.txt",
		"file:///srv/data/../secret",
		"file:///etc/passwd",
		"https://example.com/srv/data/",
		null,
	]
	d := _decide(_list("resources/list", candidates), _reader, null)
	_allowed(d)
	d.visible == ["file:///srv/data/a.txt"]
}

test_resources_list_without_candidates_is_empty if {
	d := _decide(_list("resources/list", null), _admin, null)
	_allowed(d)
	d.visible == []
}

test_resources_list_nobody_sees_nothing if {
	_decide(_list("resources/list", ["file:///srv/data/a.txt"]), _nobody, null).visible == []
}

test_resource_templates_listed_only_under_permitted_prefixes if {
	candidates := [
		"file:///srv/data/{path}",
		"file:///srv/{path}",
		"file:///srv/data",
		"file:///etc/{name}",
		"file:///srv/data/reports/{year}/{name}",
	]
	d := _decide(_list("resources/templates/list", candidates), _reader, null)
	_allowed(d)
	d.visible == ["file:///srv/data/reports/{year}/{name}", "file:///srv/data/{path}"]
}

test_resource_templates_nobody_sees_nothing if {
	_decide(_list("resources/templates/list", ["file:///srv/data/{path}"]), _nobody, null).visible == []
}

test_required_scopes_name_what_would_fix_a_role_denial if {
	# fs_write: writer's and admin's roles list it; fs_delete is destructive: admin, or
	# writer once approved (destructive_approval).
	_decide(_call("fs_write", {"path": "/srv/data/a"}), _reader, null).required_scopes == ["mcp:admin", "mcp:write"]
	_decide(_call("fs_delete", {"path": "/srv/data/a"}), _reader, null).required_scopes == ["mcp:admin", "mcp:write"]
	_decide(_call("fs_delete", {"path": "/srv/data/a"}), _writer, null).required_scopes == []
}

test_required_scopes_without_destructive_approval if {
	# Only the destructive role runs fs_delete.
	d := _decide(_call("fs_delete", {"path": "/srv/data/a"}), _reader, null) with data.catalogue as _no_approval
	d.required_scopes == ["mcp:admin"]
	w := _decide(_call("fs_delete", {"path": "/srv/data/a"}), _writer, null) with data.catalogue as _no_approval
	w.required_scopes == ["mcp:admin"]
}

test_required_scopes_empty_when_no_scope_would_fix if {
	_decide(_call("debug_eval", {}), _reader, null).required_scopes == []
	_decide(_call("fs_read", {"path": "/etc/passwd"}), _reader, null).required_scopes == []
	_decide(_call("fs_read", {"path": "/srv/data/a"}), _reader, null).required_scopes == []
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
