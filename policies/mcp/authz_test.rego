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
	r := _principal(["r"], [])
	_allowed(_decide(_call("t", {"path": "/srv/x"}), r, null)) with data.catalogue as catalogue
	_denied_with(_decide(_call("t", {"path": "/x"}), r, null), {"argument_not_allowed"}) with data.catalogue as catalogue
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
