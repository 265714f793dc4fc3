# METADATA
# title: Default MCP request authorization
# description: |
#   Decides one MCP request for a principal, against the catalogue in
#   data.catalogue: every client request method of MCP 2025-03-26 to 2026-07-28 has
#   a default in the table under "methods" (docs/policies.md). Deny by default:
#   every deny carries a stable reason code, and a method this policy does not know
#   is refused.
#
#   The engine has already checked the token, the session's existence, expiry,
#   revocation and ownership before this runs; this policy can only narrow.
package mcp.authz

import data.mcp.common

# METADATA
# title: decision
# description: |
#   {allow, reasons, obligations, visible, required_scopes}, defined for any
#   input. reasons is sorted and empty when allowed; visible is the sorted list of
#   names (or URIs) the principal may see for a list method, else null;
#   required_scopes the sorted OAuth scopes a token would need (step-up).
# entrypoint: true
decision := {
	"allow": allow,
	"reasons": sort(deny),
	"obligations": obligations,
	"visible": visible,
	"required_scopes": sort(_fixing_scopes),
}

# Allowed exactly when no rule below denies.
default allow := false

allow if count(deny) == 0

# No obligations by default. A team that wants, say, a stricter audit of allowed
# destructive calls can add {"audit_level": "high"} here once its engine acts on it:
# an obligation the engine does not understand must not be emitted.
default obligations := {}

# An allowed call of a destructive tool by a principal whose role lists it but who
# holds no destructive role (common.needs_approval: only when
# data.catalogue.destructive_approval is configured) carries the `approval`
# obligation: the engine parks it until an approver grants this exact call. Only on
# an allow: every other check (session scope, path prefixes, ...) still applies, and a
# deny carries no obligation.
obligations := {"approval": common.approval_obligation(_tool)} if {
	allow
	_method == "tools/call"
	common.needs_approval(_tool)
}

# --- request fields (null when absent or malformed) ----------------------------

default _method := ""

_method := input.request.method if is_string(input.request.method)

default _tool := null

_tool := input.request.tool

default _arguments := {}

_arguments := input.request.arguments if is_object(input.request.arguments)

default _prompt := null

_prompt := input.request.prompt

default _uri := null

_uri := input.request.uri

# A session counts as present unless it is absent or null, so a malformed session
# restricts (to nothing) rather than lifting the scope check.
_session_present if input.session != null

# --- methods -------------------------------------------------------------------

# The default of every method, one set per treatment (docs/policies.md, "Methods"). A
# method in no set is refused: `method_not_permitted`.

# Allowed for any authenticated principal: protocol housekeeping (`server/discover`,
# MCP 2026-07-28's handshake; `logging/setLevel`, which sends no data), the 2026-07-28
# `subscriptions/listen` stream (the proxy filters what it delivers), and the Streamable
# HTTP operations an enforcement proxy asks about (opening a session's SSE stream, ending
# a session, a client's answer to a server request). The engine has already checked the
# token and that the session is this principal's.
_open_methods := {
	"initialize", "ping", "server/discover", "logging/setLevel", "subscriptions/listen",
	"transport/stream", "transport/close", "transport/response",
}

# Allowed; `visible` is what the principal may see of the candidates.
_list_methods := {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "tasks/list"}

# Decided per tool (`params.name`).
_tool_methods := {"tools/call"}

# Decided per prompt (`input.request.prompt`).
_prompt_methods := {"prompts/get"}

# Decided per resource URI (`input.request.uri`), like resources/read.
_resource_methods := {"resources/read", "resources/subscribe", "resources/unsubscribe"}

# Decided like what it completes: a prompt (`ref/prompt`) like prompts/get, a resource
# template (`ref/resource`) like resources/read; a ref that is neither is refused.
_completion_methods := {"completion/complete"}

# Allowed only with `input.task`: the engine found the task named by `params.taskId`, the
# principal's own, live and for this server (it refuses otherwise before this runs).
_task_methods := {"tasks/get", "tasks/result", "tasks/cancel", "tasks/update"}

# Refused: requests a server sends to a client. The client's answer arrives as
# `transport/response`; a client sending one of these as a request is refused.
_server_request_methods := {"roots/list", "sampling/createMessage", "elicitation/create"}

_known_method if _method in _open_methods

_known_method if _method in _list_methods

_known_method if _method in _tool_methods

_known_method if _method in _prompt_methods

_known_method if _method in _resource_methods

_known_method if _method in _completion_methods

_known_method if _method in _task_methods

_known_method if startswith(_method, "notifications/")

deny contains common.reason("method_not_permitted", _method_refusal) if not _known_method

# --- tools/call ----------------------------------------------------------------

deny contains common.tool_unknown(_tool) if {
	_method == "tools/call"
	not common.known_tool(_tool)
}

# The checks below are independent: a call can fail several, and each is reported.
# A writer's role lists fs_delete, yet without a destructive role it is refused as
# destructive, unless data.catalogue.destructive_approval is configured: then the call
# is allowed with the `approval` obligation (obligations, above).
deny contains common.tool_not_permitted(_tool) if {
	_method == "tools/call"
	common.known_tool(_tool)
	not _tool in common.permitted_tools
}

deny contains common.destructive_requires_role(_tool) if {
	_method == "tools/call"
	common.known_tool(_tool)
	common.destructive(_tool)
	not common.has_destructive_role
	not common.needs_approval(_tool)
}

deny contains common.shared_principal_destructive(_tool) if {
	_method == "tools/call"
	common.known_tool(_tool)
	common.shared_refused(_tool)
}

deny contains common.reason(
	"tool_not_in_session_scope",
	concat("", ["tool '", _tool, "' is not in the session's scope"]),
) if {
	_method == "tools/call"
	common.known_tool(_tool)
	not _in_session_scope(_tool)
}

# A tool whose catalogue entry has path_prefixes (any non-null value; a malformed
# one matches nothing) takes a path argument that must stay under a prefix.
deny contains common.reason("argument_not_allowed", concat("", ["argument '", arg, "' ", problem])) if {
	_method == "tools/call"
	spec := common.tools[_tool]
	spec.path_prefixes != null
	arg := _path_argument(spec)
	problem := _path_problem(object.get(_arguments, arg, null), spec.path_prefixes)
}

# --- prompts, resources and completions ----------------------------------------

deny contains common.reason(
	"prompt_not_permitted",
	concat("", ["no role of the principal permits prompt '", common.display(_prompt), "'"]),
) if {
	_checks_prompt
	not _prompt in common.permitted_prompts
}

deny contains common.reason(
	"resource_not_permitted",
	concat("", ["resource '", common.display(_uri), "' is not under a permitted prefix"]),
) if {
	_checks_uri
	not common.resource_permitted(_uri)
}

# The engine sets `prompt` for a `ref/prompt` and `uri` for a `ref/resource`; a
# completion with neither completes nothing this policy can decide.
deny contains common.reason(
	"completion_ref_invalid",
	"completion/complete needs a ref/prompt with a name or a ref/resource with a uri",
) if {
	_method in _completion_methods
	_prompt == null
	_uri == null
}

# --- tasks ---------------------------------------------------------------------

deny contains common.reason(
	"task_unknown",
	concat("", ["method '", _method, "' names no live task of this principal on this server"]),
) if {
	_method in _task_methods
	not _task_present
}

# --- what the denials read -----------------------------------------------------

# Why method_not_permitted: a server-to-client request sent by a client, or a method
# this policy does not know.
_method_refusal := concat("", [
	"method '", _method,
	"' is a request a server sends to a client; the client answers it, it does not send it",
]) if {
	_method in _server_request_methods
} else := concat("", ["method '", _method, "' is not permitted by policy"])

# The argument that holds a tool's path: the catalogue's path_argument, else "path".
_path_argument(spec) := spec.path_argument if is_string(spec.path_argument)

else := "path"

# Why value v is not an acceptable path under prefixes; undefined when it is.
_path_problem(v, prefixes) := "is missing or not a string" if {
	not is_string(v)
} else := "must not contain a NUL character or a '..' segment" if {
	common.unsafe_path(v)
} else := concat("", [
	"must start with one of: ",
	concat(", ", sort(common.string_elements(prefixes))),
]) if {
	not common.has_prefix(v, prefixes)
}

_in_session_scope(_) if not _session_present

_in_session_scope(t) if _session_scope[t]

# A request decided on its prompt: prompts/get (a missing prompt is refused), and a
# completion of a prompt's argument.
_checks_prompt if _method in _prompt_methods

_checks_prompt if {
	_method in _completion_methods
	_prompt != null
}

# A request decided on its resource URI: resources/read, subscribe and unsubscribe (a
# missing URI is refused), and a completion of a resource template's variable.
_checks_uri if _method in _resource_methods

_checks_uri if {
	_method in _completion_methods
	_uri != null
}

# `input.task` is null, or an object the engine built; anything else (absent included)
# counts as no task. A rule of its own: `not is_object(input.task)` inline is undefined,
# not true, when input.task is absent, which would let a task method through.
_task_present if is_object(input.task)

# --- list methods --------------------------------------------------------------

default visible := null

visible := sort(_candidates_within(_listable_tools)) if _method == "tools/list"

visible := sort(_candidates_within(common.permitted_prompts)) if _method == "prompts/list"

# The engine passes only the principal's own live tasks on this server as candidates;
# without candidates, none is visible.
visible := sort(common.string_elements(input.request.candidates)) if _method == "tasks/list"

# Without candidates there is no catalogue of resources to list: nothing is visible.
visible := sort({resource |
	some resource in common.string_elements(input.request.candidates)
	common.resource_permitted(resource)
}) if _method == "resources/list"

# A URI template is listed when its fixed part lies under a permitted prefix: every URI
# it expands to then starts with that prefix too (resources/read still checks each).
visible := sort({template |
	some template in common.string_elements(input.request.candidates)
	common.resource_permitted(_template_prefix(template))
}) if _method == "resources/templates/list"

_template_prefix(template) := substring(template, 0, indexof(template, "{")) if contains(template, "{")

_template_prefix(template) := template if not contains(template, "{")

# Tools a tools/call for them would pass the role, destructive and session checks (a
# destructive tool that needs an approval included: the principal can call it once
# approved).
# Set intersections, not a membership test per tool: `x in coll` scans coll in the
# WASM target, which made a list quadratic in the catalogue (bench/scaling.ts).
_listable_tools := common.callable_tools - common.shared_refused_tools if not _session_present

_listable_tools := (common.callable_tools & _session_scope) - common.shared_refused_tools if _session_present

# The session's scope as a set (empty when malformed, so nothing is listed).
_session_scope := {t | some t in input.session.scope}

# The candidates the PEP passed that are in allowed; without candidates, allowed.
# Candidates that are not strings, or not an array, show nothing.
_candidates_within(allowed) := _candidates & allowed if {
	input.request.candidates != null
} else := allowed

_candidates := {c | some c in common.string_elements(input.request.candidates)}

# --- step-up -------------------------------------------------------------------

# The OAuth scopes whose role would let this request past the role checks that refused
# it, for an enforcement point's `insufficient_scope` challenge. Empty when no scope
# would (an unknown tool, a role no scope maps to): a deny a new token cannot fix must
# not send a client into re-authorization.
_fixing_scopes contains s if {
	_method == "tools/call"
	common.known_tool(_tool)
	not _tool in common.callable_tools
	some s in common.scopes_for_tool(_tool)
}

_fixing_scopes contains s if {
	_checks_prompt
	_prompt in common.prompts
	not _prompt in common.permitted_prompts
	some s, r in data.catalogue.scope_roles
	_prompt in common.roles[r].prompts
}

_fixing_scopes contains s if {
	_checks_uri
	not common.resource_permitted(_uri)
	is_string(_uri)
	not common.unsafe_path(_uri)
	some s, r in data.catalogue.scope_roles
	some prefix in common.roles[r].resource_prefixes
	is_string(prefix)
	prefix != ""
	startswith(_uri, prefix)
}
