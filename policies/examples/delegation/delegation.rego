# METADATA
# title: Example - agents acting for users (delegated identity)
# description: |
#   Four rules over input.principal.actor, the actor chain (RFC 8693 `act` plus an
#   agent's JWT-SVID), the most recent actor first, empty when the subject acts itself:
#   1. an agent acts only for users of its own tenant (actor_tenant_mismatch);
#   2. at most two hops: an agent, and one agent it handed on to (delegation_too_long);
#   3. a destructive tool needs a human subject (human_required); a human's agent may
#      call it once the human approved that exact call (the `approval` obligation, by
#      "self"); the human acting alone is allowed outright;
#   4. a tool of attributable_tools needs an agent that proved itself with its own
#      JWT-SVID (agent_not_attributable).
#   Data is inline. Any other tool passes these rules: combine them with a tool
#   policy (such as the rbac example). A method other than tools/call is refused, as
#   in the other examples, and a deny carries no obligation.
package mcp.examples.delegation

# Agent -> its tenant, by the actor's `sub` or its `spiffe_id` (an attested agent's
# sub is its SPIFFE ID). An actor under neither is of unknown tenant.
agent_tenants := {
	"researcher": "acme",
	"spiffe://example.org/agents/researcher": "acme",
	"summarizer": "acme",
	"spiffe://example.org/agents/summarizer": "acme",
	"spiffe://example.org/agents/ledger": "globex",
}

# Tools that destroy data: only a human may call them (rule 3).
destructive_tools := {"db_drop", "fs_delete"}

# Tools whose agent must be attributable: attested by its own JWT-SVID (rule 4).
attributable_tools := {"payments_send"}

# METADATA
# title: decision
# description: Same shape as mcp/authz/decision.
# entrypoint: true
decision := {
	"allow": allow,
	"reasons": sort(deny),
	"obligations": obligations,
	"visible": null,
}

default allow := false

allow if count(deny) == 0

default _method := ""

_method := input.request.method if is_string(input.request.method)

_tool := input.request.tool if is_string(input.request.tool)

# The actor chain, most recent actor first; empty: the subject acts itself.
default _actors := []

_actors := input.principal.actor if is_array(input.principal.actor)

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/call"} if {
	_method != "tools/call"
}

# --- rule 1: agents act only for users of their own tenant ----------------------

# Every actor must be of the subject's tenant (input.principal.claims.tenant): the
# tenants the data gives for its sub and its spiffe_id must be exactly that one. An
# actor of unknown tenant, of another tenant, or whose two ids disagree is refused.
deny contains {"code": "actor_tenant_mismatch", "message": concat("", [
	"agents may act only for users of their own tenant; not of the user's tenant '",
	_tenant_text, "': ", concat(", ", strangers),
])} if {
	strangers := [_label(a) | some a in _actors; not _of_tenant(a)]
	count(strangers) > 0
}

# --- rule 2: at most two hops ---------------------------------------------------

# The engine also caps the chain (identity.delegation.max_depth); this policy is
# stricter: a user's agent, and at most one agent that agent handed the task to.
deny contains {
	"code": "delegation_too_long",
	"message": "at most two agents may be in the delegation chain: a user's agent, and one it handed the task to",
} if {
	count(_actors) > 2
}

# --- rule 3: destructive tools need a human in the chain ------------------------

# Only a human (_human, below) may call a destructive tool; a human's agent may too,
# with the `approval` obligation (obligations, below).
deny contains {"code": "human_required", "message": concat("", [
	"tool '", _tool, "' is destructive: only a human user may call it, ",
	"not a workload or a shared account",
])} if {
	_method == "tools/call"
	_tool in destructive_tools
	not _human
}

# --- rule 4: some tools need an attributable agent ------------------------------

# An agent must call the tool (the subject alone may not), and the most recent actor
# must have proved itself with its own JWT-SVID (attested), so the call is pinned to
# one workload, not to whoever holds the user's token.
deny contains {"code": "agent_not_attributable", "message": concat("", [
	"tool '", _tool, "' needs an attributable agent: the most recent actor must ",
	"prove itself with its own JWT-SVID",
])} if {
	_method == "tools/call"
	_tool in attributable_tools
	not _actors[0].attested == true
}

# --- helpers of rules 1 and 3 ---------------------------------------------------

# Rule 1: the actor is of the subject's tenant.
_of_tenant(actor) if {
	tenant := input.principal.claims.tenant
	is_string(tenant)
	{t | some id in [actor.sub, object.get(actor, "spiffe_id", null)]; t := agent_tenants[id]} == {tenant}
}

# A human: a user (not a workload) whose account the engine did not see shared by many
# clients, workloads or chains. `shared` is always a boolean in the engine's input;
# anything but false is taken as shared.
_human if {
	input.principal.kind == "user"
	input.principal.shared == false
}

# --- obligations (rule 3) -------------------------------------------------------

# A human's agent may call a destructive tool once the human approved that exact
# call ("self": the requester approves, after signing in again; docs/approvals.md).
# Only on an allow: a refused call asks nobody. The human alone needs no approval.
default obligations := {}

obligations := {"approval": {
	"approvers": "self",
	"reason": concat("", [
		"your agent ", _label(_actors[0]), " asks to run the destructive tool '", _tool,
		"' for you: approve it only if you meant it to",
	]),
}} if {
	allow
	_method == "tools/call"
	_tool in destructive_tools
	_human
	count(_actors) > 0
}

# --- messages -------------------------------------------------------------------

# An actor as messages name it, at most 200 characters; total, so that no message
# (and with it no deny) is ever undefined.
_label(actor) := concat("", ["'", substring(actor.sub, 0, 200), "'"]) if {
	is_string(actor.sub)
} else := "(an actor without sub)"

default _tenant_text := "(none)"

_tenant_text := substring(input.principal.claims.tenant, 0, 200) if {
	is_string(input.principal.claims.tenant)
}
