package mcp.session_test

import data.mcp.session

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

_request(method, tools) := {
	"method": method,
	"tool": null,
	"arguments": null,
	"uri": null,
	"prompt": null,
	"protocol_version": null,
	"candidates": null,
	"tools": tools,
}

_session(scope) := {
	"id_hash": "3f1c",
	"kind": "mcp-session",
	"scope": scope,
	"created_at": 1,
	"expires_at": 2,
	"context": {},
}

_grant(request, principal, sess) := g if {
	g := session.grant with input as {
		"request": request,
		"principal": principal,
		"session": sess,
		"server": {"id": "https://mcp.example.com/files"},
		"caller": {"id": "gateway-1", "role": "pep"},
		"now_ns": 1234,
	}
}

_create(tools, principal) := _grant(_request("session/create", tools), principal, null)

_widen(tools, principal, sess) := _grant(_request("session/widen", tools), principal, sess)

_codes(g) := [r.code | some r in g.reasons]

_granted(g, scope) if {
	g.allow == true
	g.reasons == []
	g.scope == scope
}

_refused(g, codes) if {
	g.allow == false
	g.scope == []
	_codes(g) == codes
}

# --- shape ---------------------------------------------------------------------

test_grant_defined_for_empty_input if {
	g := session.grant with input as {}
	_refused(g, ["method_not_permitted"])
	g.ttl_seconds == 900
	g.idle_seconds == 300
}

test_grant_defined_without_input if {
	_refused(session.grant, ["method_not_permitted"])
}

test_other_method_refused if {
	g := _grant(_request("tools/call", ["fs_read"]), _admin, null)
	_refused(g, ["method_not_permitted"])
	g.reasons[0].message == "method 'tools/call' is not a session grant method"
}

# --- create --------------------------------------------------------------------

test_create_without_tools_gets_non_destructive_callable_tools if {
	_granted(_create(null, _reader), ["fs_list", "fs_read", "search_docs"])
	_granted(_create(null, _writer), ["fs_list", "fs_read", "fs_write", "search_docs"])
	_granted(_create(null, _admin), ["fs_list", "fs_read", "fs_write", "search_docs"])
}

test_create_with_tools_absent_key if {
	g := session.grant with input as {"request": {"method": "session/create"}, "principal": _reader, "session": null}
	_granted(g, ["fs_list", "fs_read", "search_docs"])
}

test_create_without_role_has_no_tools if {
	g := _create(null, _nobody)
	_refused(g, ["no_tools"])
	g.reasons[0].message == "the resulting session scope would hold no tools"
}

test_create_with_requested_tools if {
	_granted(_create(["fs_read", "search_docs", "fs_read"], _reader), ["fs_read", "search_docs"])
}

test_create_destructive_by_name if {
	_granted(_create(["fs_delete"], _admin), ["fs_delete"])
	_granted(_create(["fs_read", "fs_delete"], _principal([], ["mcp:admin"])), ["fs_delete", "fs_read"])
}

# The default catalogue without destructive_approval: only a destructive role deletes.
_no_approval := object.remove(data.catalogue, ["destructive_approval"])

test_create_destructive_for_writer_by_name if {
	# Each call of fs_delete still needs an approval (mcp.authz); the grant may hold it.
	_granted(_create(["fs_read", "fs_delete"], _writer), ["fs_delete", "fs_read"])
	_granted(_create(["fs_delete"], _principal([], ["mcp:write"])), ["fs_delete"])
}

test_create_destructive_refused_for_writer_without_destructive_approval if {
	g := _create(["fs_read", "fs_delete"], _writer) with data.catalogue as _no_approval
	_refused(g, ["destructive_requires_role"])
	g.reasons[0].message == "tool 'fs_delete' is destructive and requires one of the roles: admin"
}

test_create_without_tools_leaves_destructive_out_for_writer if {
	_granted(_create(null, _writer), ["fs_list", "fs_read", "fs_write", "search_docs"])
}

test_create_destructive_refused_for_reader if {
	_refused(_create(["fs_delete"], _reader), ["tool_not_permitted"])
}

test_create_one_reason_per_refused_tool if {
	g := _create(["fs_read", "ghost", "fs_write", "fs_delete", 7], _reader)
	g.allow == false
	g.scope == []
	g.reasons == [
		{"code": "tool_not_permitted", "message": "no role of the principal permits tool 'fs_delete'"},
		{"code": "tool_not_permitted", "message": "no role of the principal permits tool 'fs_write'"},
		{"code": "tool_unknown", "message": "tool '(not a string)' is not in the catalogue"},
		{"code": "tool_unknown", "message": "tool 'ghost' is not in the catalogue"},
	]
}

test_create_with_empty_tools_refused if {
	_refused(_create([], _admin), ["no_tools"])
}

test_create_with_malformed_tools_refused if {
	_refused(_create("fs_read", _admin), ["no_tools"])
}

# --- widen ---------------------------------------------------------------------

test_widen_adds_to_scope if {
	_granted(_widen(["fs_list"], _reader, _session(["fs_read"])), ["fs_list", "fs_read"])
}

test_widen_with_tool_already_in_scope if {
	_granted(_widen(["fs_read"], _reader, _session(["fs_read"])), ["fs_read"])
}

test_widen_to_destructive if {
	_granted(_widen(["fs_delete"], _admin, _session(["fs_read"])), ["fs_delete", "fs_read"])
	_granted(_widen(["fs_delete"], _writer, _session(["fs_read"])), ["fs_delete", "fs_read"])
	refused := _widen(["fs_delete"], _writer, _session(["fs_read"])) with data.catalogue as _no_approval
	_refused(refused, ["destructive_requires_role"])
}

test_widen_refuses_unpermitted_tool if {
	_refused(_widen(["fs_list", "fs_write"], _reader, _session(["fs_read"])), ["tool_not_permitted"])
	_refused(_widen(["ghost"], _reader, _session(["fs_read"])), ["tool_unknown"])
}

test_widen_without_tools_refused if {
	g := _widen(null, _reader, _session(["fs_read"]))
	_refused(g, ["widen_empty"])
	g.reasons[0].message == "a widening must name at least one tool"
	_refused(_widen([], _reader, _session(["fs_read"])), ["widen_empty"])
}

test_widen_nothing_on_empty_session if {
	_refused(_widen([], _reader, _session([])), ["no_tools", "widen_empty"])
}

test_widen_without_session_refused if {
	g := _widen(["fs_read"], _reader, null)
	_refused(g, ["session_required"])
	g.reasons[0].message == "a widening needs the session it widens"
	_refused(_widen(["fs_read"], _reader, "3f1c"), ["session_required"])
}

test_widen_ignores_malformed_session_scope if {
	_granted(_widen(["fs_read"], _reader, _session("fs_list")), ["fs_read"])
	_granted(_widen(["fs_read"], _reader, _session(["fs_list", 3])), ["fs_list", "fs_read"])
}

# --- lifetimes -----------------------------------------------------------------

test_lifetimes_per_role if {
	g := _create(null, _reader)
	g.ttl_seconds == 3600
	g.idle_seconds == 900
	a := _create(null, _admin)
	a.ttl_seconds == 900
	a.idle_seconds == 300
}

test_lifetimes_most_restrictive_role_wins if {
	g := _create(null, _principal(["reader"], ["mcp:write"]))
	g.ttl_seconds == 1800
	g.idle_seconds == 600
}

test_lifetimes_given_on_refusal if {
	g := _create(["ghost"], _writer)
	g.allow == false
	g.ttl_seconds == 1800
	g.idle_seconds == 600
}

test_lifetimes_default_without_role if {
	g := _create(null, _nobody)
	g.ttl_seconds == 900
	g.idle_seconds == 300
}

test_lifetimes_catalogue_defaults if {
	catalogue := object.union(object.remove(data.catalogue, ["session"]), {"session": {
		"ttl_seconds": {"reader": "long", "writer": 0},
		"idle_seconds": {},
		"default_ttl_seconds": 1200,
		"default_idle_seconds": 450,
	}})
	g := _create(null, _principal(["reader", "writer"], [])) with data.catalogue as catalogue
	g.ttl_seconds == 1200
	g.idle_seconds == 450
}

test_lifetimes_builtin_defaults if {
	lifetimes := {"default_ttl_seconds": "1h", "default_idle_seconds": -1}
	catalogue := object.union(object.remove(data.catalogue, ["session"]), {"session": lifetimes})
	g := _create(null, _writer) with data.catalogue as catalogue
	g.ttl_seconds == 900
	g.idle_seconds == 300
}

test_lifetimes_are_integers if {
	lifetimes := {"ttl_seconds": {"reader": 1800.7}, "idle_seconds": {"reader": 60.2}}
	catalogue := object.union(data.catalogue, {"session": lifetimes})
	g := _create(null, _reader) with data.catalogue as catalogue
	g.ttl_seconds == 1800
	g.idle_seconds == 60
}

test_idle_never_exceeds_ttl if {
	lifetimes := {"ttl_seconds": {"reader": 120}, "idle_seconds": {"reader": 900}}
	catalogue := object.union(data.catalogue, {"session": lifetimes})
	g := _create(null, _reader) with data.catalogue as catalogue
	g.ttl_seconds == 120
	g.idle_seconds == 120
}

test_widen_refusal_names_the_scopes_that_would_grant if {
	_widen(["fs_write"], _reader, _session(["fs_read"])).required_scopes == ["mcp:admin", "mcp:write"]
	_widen(["fs_delete"], _reader, _session(["fs_read"])).required_scopes == ["mcp:admin", "mcp:write"]
	reader_delete := _widen(["fs_delete"], _reader, _session(["fs_read"])) with data.catalogue as _no_approval
	reader_delete.required_scopes == ["mcp:admin"]
	writer_delete := _widen(["fs_delete"], _writer, _session(["fs_read"])) with data.catalogue as _no_approval
	writer_delete.required_scopes == ["mcp:admin"]
	_widen(["fs_delete"], _writer, _session(["fs_read"])).required_scopes == []
	_widen(["ghost"], _reader, _session(["fs_read"])).required_scopes == []
}
