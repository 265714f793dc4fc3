# METADATA
# title: Default MCP session grant
# description: |
#   Decides the tool scope of a new session (session/create) or of a widening of
#   an existing one (session/widen), and its absolute and idle lifetimes. A scope
#   only ever holds tools the principal may call; destructive tools only when
#   asked for by name. A destructive tool the principal may call only once
#   approved (data.catalogue.destructive_approval) may be in the scope: each call
#   of it still needs its approval.
package mcp.session

import data.mcp.common

# METADATA
# title: grant
# description: |
#   {allow, scope, ttl_seconds, idle_seconds, reasons}, defined for any input.
#   scope is sorted, and empty whenever allow is false; reasons is sorted and
#   empty when allowed.
# entrypoint: true
grant := {
	"allow": allow,
	"scope": scope,
	"ttl_seconds": ttl_seconds,
	"idle_seconds": idle_seconds,
	"reasons": sort(deny),
	"required_scopes": sort(_fixing_scopes),
}

# Step-up: the scopes whose role would grant the refused tools, for the enforcement
# point's insufficient_scope challenge (empty when no scope would).
_fixing_scopes contains s if {
	some t in _requested
	common.tool_refusal(t)
	some s in common.scopes_for_tool(t)
}

# Allowed exactly when no rule below denies.
default allow := false

allow if count(deny) == 0

default scope := []

scope := sort(_scope) if allow

# --- request fields ------------------------------------------------------------

default _method := ""

_method := input.request.method if is_string(input.request.method)

_grant_methods := {"session/create", "session/widen"}

default _requested := []

# The tools asked for, as given (non-strings included, so that they are refused).
_requested := input.request.tools if is_array(input.request.tools)

# The string entries of the session's current scope; empty when there is none.
_session_scope contains t if {
	is_array(input.session.scope)
	some t in input.session.scope
	is_string(t)
}

# request.tools was given (possibly empty or malformed), as opposed to null/absent.
_tools_given if input.request.tools != null

# --- scope ---------------------------------------------------------------------

# The scope asked for; undefined for a method that is not a grant method.
#
# A create that names no tools gets the minimal useful scope: every callable tool
# that is not destructive. Destructive tools must be asked for by name.
_scope := {t | some t in common.callable_tools; not common.destructive(t)} if {
	_method == "session/create"
	not _tools_given
}

_scope := {t | some t in _requested} if {
	_method == "session/create"
	_tools_given
}

# A widening adds to the scope the session already has; it never removes.
_scope := _session_scope | {t | some t in _requested} if {
	_method == "session/widen"
}

# --- deny ----------------------------------------------------------------------

deny contains common.reason(
	"method_not_permitted",
	concat("", ["method '", _method, "' is not a session grant method"]),
) if {
	not _method in _grant_methods
}

# One reason per refused tool: tool_unknown, tool_not_permitted or
# destructive_requires_role, whichever comes first (none for a destructive tool that
# needs an approval: the approval is asked for per call, not per grant).
deny contains refusal if {
	_method in _grant_methods
	some t in _requested
	refusal := common.tool_refusal(t)
}

deny contains common.reason("session_required", "a widening needs the session it widens") if {
	_method == "session/widen"
	not is_object(input.session)
}

deny contains common.reason("widen_empty", "a widening must name at least one tool") if {
	_method == "session/widen"
	count(_requested) == 0
}

deny contains common.reason("no_tools", "the resulting session scope would hold no tools") if {
	_method in _grant_methods
	count(_scope) == 0
}

# --- lifetimes -----------------------------------------------------------------

# The most restrictive (smallest) lifetime configured for any effective role; the
# catalogue default when none of them has one; a built-in default when the
# catalogue has none. Values that are not numbers >= 1 are ignored.
default ttl_seconds := 900

ttl_seconds := floor(min(_role_seconds("ttl_seconds"))) if {
	count(_role_seconds("ttl_seconds")) > 0
} else := floor(data.catalogue.session.default_ttl_seconds) if {
	_duration(data.catalogue.session.default_ttl_seconds)
}

# Never longer than ttl_seconds: a session cannot stay idle past its absolute expiry.
idle_seconds := min({_idle_seconds, ttl_seconds})

default _idle_seconds := 300

_idle_seconds := floor(min(_role_seconds("idle_seconds"))) if {
	count(_role_seconds("idle_seconds")) > 0
} else := floor(data.catalogue.session.default_idle_seconds) if {
	_duration(data.catalogue.session.default_idle_seconds)
}

_role_seconds(kind) := {v |
	some r in common.effective_roles
	v := data.catalogue.session[kind][r]
	_duration(v)
}

_duration(v) if {
	is_number(v)
	v >= 1
}
