# METADATA
# title: Shared helpers of the default MCP policies
# description: |
#   Reads the tool catalogue in data.catalogue and the principal in input, and
#   derives what both entrypoints need: the principal's effective roles, the
#   tools, prompts and resource prefixes those roles grant, and the argument
#   and URI checks. Every helper is total: a missing or malformed input or data
#   field yields an empty set (deny by default), never an error.
package mcp.common

# --- data ---------------------------------------------------------------------

default tools := {}

# The tool catalogue: name -> {description, destructive, path_argument, path_prefixes}.
tools := data.catalogue.tools if is_object(data.catalogue.tools)

default roles := {}

# Role definitions: name -> {tools, prompts, resource_prefixes}. Lists are flat:
# a role does not inherit from another, so each role spells out what it grants.
roles := data.catalogue.roles if is_object(data.catalogue.roles)

# Prompts the catalogue knows; a role may only grant a prompt listed here.
prompts contains p if {
	some p in data.catalogue.prompts
	is_string(p)
}

# --- principal -----------------------------------------------------------------

# The principal's effective roles: its own roles plus the roles its OAuth scopes
# map to, restricted to roles the catalogue defines.
effective_roles contains r if {
	some r in input.principal.roles
	_defined_role(r)
}

effective_roles contains r if {
	some s in input.principal.scopes
	is_string(s)
	r := data.catalogue.scope_roles[s]
	_defined_role(r)
}

_defined_role(r) if {
	is_string(r)
	is_object(roles[r])
}

# True when the principal holds one of the roles allowed to run destructive tools.
has_destructive_role if {
	some r in data.catalogue.destructive_roles
	r in effective_roles
}

# --- tools ---------------------------------------------------------------------

# True when t names a tool of the catalogue.
known_tool(t) if {
	is_string(t)
	is_object(tools[t])
}

# True when the catalogue marks tool t destructive (anything but `true` is not).
destructive(t) if tools[t].destructive == true

# Catalogue tools listed by at least one effective role (destructive ones included).
permitted_tools contains t if {
	some r in effective_roles
	some t in roles[r].tools
	known_tool(t)
}

# Tools the principal may actually run: permitted, and destructive only with a
# destructive role or, when destructive_approval is configured, once approved
# (needs_approval). Session scope is applied by the callers.
callable_tools contains t if {
	some t in permitted_tools
	not destructive(t)
}

callable_tools contains t if {
	some t in permitted_tools
	has_destructive_role
}

callable_tools contains t if {
	some t in permitted_tools
	destructive_approval_configured
}

# The one reason the principal may not run (or be granted) tool t, if any, in
# order of precedence; undefined when t is callable (a tool that needs_approval
# is: the approval is asked for when it is called).
tool_refusal(t) := tool_unknown(t) if {
	not known_tool(t)
} else := tool_not_permitted(t) if {
	not t in permitted_tools
} else := destructive_requires_role(t) if {
	destructive(t)
	not has_destructive_role
	not needs_approval(t)
} else := shared_principal_destructive(t) if {
	shared_refused(t)
}

# --- shared principals ---------------------------------------------------------

# A principal the service saw used from many clients, agent workloads or actor
# chains within a window (identity.shared_accounts: input.principal.shared) runs no
# destructive tool: a shared service account cannot say who deletes. Set
# data.catalogue.shared_destructive to "allow" to let it.
shared_refused(t) if {
	destructive(t)
	input.principal.shared == true
	not data.catalogue.shared_destructive == "allow"
}

# The permitted tools refused to a shared principal.
shared_refused_tools contains t if {
	some t in permitted_tools
	shared_refused(t)
}

# Reason: a destructive tool asked for by a shared principal.
shared_principal_destructive(t) := reason("shared_principal_destructive", concat("", [
	"tool '", t, "' is destructive and the principal is shared: ",
	"its tokens came from many clients, agent workloads or actor chains",
]))

# Reason: the request names no tool, or one the catalogue does not know.
tool_unknown(t) := reason("tool_unknown", concat("", ["tool '", display(t), "' is not in the catalogue"]))

# Reason: no effective role of the principal lists the tool.
tool_not_permitted(t) := reason("tool_not_permitted", concat("", ["no role of the principal permits tool '", t, "'"]))

# Reason: the tool is destructive and the principal holds no destructive role (nor,
# when destructive_approval is configured, a role that lists the tool).
destructive_requires_role(t) := reason("destructive_requires_role", concat("", [
	"tool '", t, "' is destructive and requires one of the roles: ",
	concat(", ", destructive_roles),
]))

# The roles allowed to run destructive tools, sorted, for messages.
destructive_roles := sort({r | some r in data.catalogue.destructive_roles; is_string(r)})

# --- approvals -----------------------------------------------------------------

# The approval that lets a principal without a destructive role run a destructive
# tool its role lists: {approvers, grant_ttl_seconds?, request_ttl_seconds?}, as in
# data.catalogue.destructive_approval. Undefined when absent or not an object: then
# only a destructive role runs a destructive tool.
destructive_approval := data.catalogue.destructive_approval if is_object(data.catalogue.destructive_approval)

# True when destructive_approval is configured.
destructive_approval_configured if is_object(destructive_approval)

# True when the principal may run tool t only once a human approved the exact call.
needs_approval(t) if t in approval_tools

# The tools the principal may run only once approved: destructive, listed by one of its
# effective roles, while it holds no destructive role and destructive_approval is
# configured.
approval_tools contains t if {
	some t in permitted_tools
	destructive(t)
	not has_destructive_role
	destructive_approval_configured
}

# The `approval` obligation for a call of tool t that needs_approval: the engine
# parks the call until an approver grants this exact call (src/approval/obligation.ts,
# docs/approvals.md). The approvers are passed as configured, null when missing, so
# that a malformed setting is refused by the engine (approval_invalid) and never
# lifts the approval; grant_ttl_seconds and request_ttl_seconds only when configured.
approval_obligation(t) := object.union(
	object.filter(destructive_approval, ["grant_ttl_seconds", "request_ttl_seconds"]),
	{
		"approvers": object.get(destructive_approval, "approvers", null),
		"reason": _approval_reason(t),
	},
)

# "<tool> is destructive: <who> must approve this exact call", at most 512 code
# points (the obligation allows 1024 UTF-16 units): a long list of approvers is
# left out of the message rather than making the obligation malformed.
_approval_reason(t) := msg if {
	msg := concat("", [
		t, " is destructive: ",
		_approvers_text(destructive_approval.approvers), " must approve this exact call",
	])
	count(msg) <= 512
} else := substring(concat("", [t, " is destructive: an approver must approve this exact call"]), 0, 512)

# Who may approve, for the message: the requester itself, or the named roles,
# subjects and groups (each list sorted).
_approvers_text(a) := "you (after signing in again)" if {
	a == "self"
} else := concat(", or ", parts) if {
	is_object(a)
	parts := [part |
		some kind in [["a holder of role ", "roles"], ["subject ", "subjects"], ["a member of group ", "groups"]]
		names := sort(string_elements(object.get(a, kind[1], null)))
		count(names) > 0
		part := concat("", [kind[0], concat(" or ", names)])
	]
	count(parts) > 0
} else := "an approver"

# --- prompts and resources -----------------------------------------------------

# Catalogue prompts listed by at least one effective role.
permitted_prompts contains p if {
	some r in effective_roles
	some p in roles[r].prompts
	p in prompts
}

# URI prefixes of the resources the effective roles may read. Empty prefixes are
# ignored: they would match every URI.
resource_prefixes contains p if {
	some r in effective_roles
	some p in roles[r].resource_prefixes
	is_string(p)
	p != ""
}

# True when resource (a URI) is a string under one of the permitted resource prefixes
# and tries no traversal.
resource_permitted(resource) if {
	is_string(resource)
	has_prefix(resource, resource_prefixes)
	not unsafe_path(resource)
}

# --- strings and paths ---------------------------------------------------------

# True when s starts with one of the non-empty strings in prefixes.
has_prefix(s, prefixes) if {
	some p in prefixes
	is_string(p)
	p != ""
	startswith(s, p)
}

# True when path s could escape its prefix: it holds a NUL, or a `..` segment once
# percent-encoded dots and slashes and backslashes are decoded. Decoding is
# deliberately conservative: a server that URL-decodes its path argument, or
# treats `\` as a separator, must not be walked out of its prefix either.
unsafe_path(s) if contains(s, "\u0000")

unsafe_path(s) if {
	some segment in split(_decoded(s), "/")
	segment == ".."
}

_decoded(s) := replace(replace(replace(replace(lower(s), "%2e", "."), "%2f", "/"), "%5c", "/"), "\\", "/")

# --- results -------------------------------------------------------------------

# A decision reason as the engine reads it.
reason(code, message) := {"code": code, "message": message}

# A printable form of a name that may not be a string (for messages only).
display(x) := x if is_string(x)

else := "(missing)" if x == null

else := "(not a string)"

# The string elements of x when x is an array; else the empty set.
string_elements(x) := {s | some s in x; is_string(s)} if is_array(x)

else := set()

# --- step-up -------------------------------------------------------------------

# The OAuth scopes (data.catalogue.scope_roles) whose role may run tool t: one that
# lists it, and for a destructive tool one of the destructive roles or, when
# destructive_approval is configured, any role that lists it (once approved).
scopes_for_tool(t) := {s |
	some s, r in data.catalogue.scope_roles
	t in roles[r].tools
	_role_may_run(r, t)
}

_role_may_run(_, t) if not destructive(t)

_role_may_run(r, t) if {
	destructive(t)
	r in data.catalogue.destructive_roles
}

_role_may_run(_, t) if {
	destructive(t)
	destructive_approval_configured
}
