# Tests of mcp.authz for the method table and every method but tools/call.
package mcp.authz_test

import data.mcp.authz

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

_read_resource(resource) := object.union(_request("resources/read"), {"uri": resource})

test_reader_reads_resource if {
	_allowed(_decide(_read_resource("file:///srv/data/report.txt"), _reader, null))
}

test_resource_outside_prefix_denied if {
	d := _decide(_read_resource("file:///etc/passwd"), _admin, null)
	_denied_with(d, {"resource_not_permitted"})
	d.reasons[0].message == "resource 'file:///etc/passwd' is not under a permitted prefix"
}

test_resource_traversal_denied if {
	every resource in ["file:///srv/data/../../etc/passwd", "file:///srv/data/%2E%2E/etc", "file:///srv/data/a\u0000"] {
		_denied_with(_decide(_read_resource(resource), _admin, null), {"resource_not_permitted"})
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
	d := _decide(_read_resource("file:///etc/passwd"), _reader, null) with data.catalogue as catalogue
	_denied_with(d, {"resource_not_permitted"})
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
	every_tool := ["fs_delete", "fs_list", "fs_read", "fs_write", "search_docs"]
	_decide(_list("tools/list", null), _admin, null).visible == every_tool
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
	session := _session(["fs_read", "fs_delete", "nope"])
	_decide(_list("tools/list", null), _admin, session).visible == ["fs_delete", "fs_read"]
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
