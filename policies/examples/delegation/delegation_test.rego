package mcp.examples.delegation_test

import data.mcp.examples.delegation

# --- fixtures -------------------------------------------------------------------

# Alice, a human user of tenant acme.
_alice := {
	"iss": "https://idp.example.com",
	"sub": "alice",
	"client_id": "app-1",
	"kind": "user",
	"spiffe_id": null,
	"actor": [],
	"may_act": null,
	"shared": false,
	"usage": null,
	"claims": {"tenant": "acme"},
}

# An actor named by a plain sub (from the token's act claim), not attested.
_agent(sub) := {
	"iss": "https://idp.example.com", "sub": sub, "client_id": "agents",
	"spiffe_id": null, "attested": false,
}

# An agent that presented its own JWT-SVID: its sub is its SPIFFE ID.
_svid_agent(id) := {"iss": "spiffe://example.org", "sub": id, "client_id": null, "spiffe_id": id, "attested": true}

_researcher := _svid_agent("spiffe://example.org/agents/researcher")

_acting(principal, actors) := object.union(principal, {"actor": actors})

_call(tool, principal) := {"request": {"method": "tools/call", "tool": tool, "arguments": {}}, "principal": principal}

_codes(d) := [r.code | some r in d.reasons]

_allowed_outright(d) if d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}

_denied_with(d, codes) if {
	not d.allow
	_codes(d) == codes
	d.obligations == {}
}

# --- rule 1: agents act only for users of their own tenant ----------------------

test_user_acting_alone_allowed if {
	_allowed_outright(delegation.decision) with input as _call("fs_read", _alice)
}

test_agent_of_the_users_tenant_allowed_by_sub_or_spiffe_id if {
	_allowed_outright(delegation.decision) with input as _call("fs_read", _acting(_alice, [_agent("researcher")]))
	_allowed_outright(delegation.decision) with input as _call("fs_read", _acting(_alice, [_researcher]))
}

test_agent_of_another_tenant_denied if {
	ledger := _svid_agent("spiffe://example.org/agents/ledger")
	d := delegation.decision with input as _call("fs_read", _acting(_alice, [ledger]))
	_denied_with(d, ["actor_tenant_mismatch"])
	d.reasons[0].message == concat("", [
		"agents may act only for users of their own tenant; not of the user's tenant 'acme': ",
		"'spiffe://example.org/agents/ledger'",
	])
}

test_agent_of_unknown_tenant_denied if {
	d := delegation.decision with input as _call("fs_read", _acting(_alice, [_agent("stranger")]))
	_denied_with(d, ["actor_tenant_mismatch"])
	endswith(d.reasons[0].message, ": 'stranger'")
}

test_every_actor_of_the_chain_is_checked if {
	d := delegation.decision with input as _call("fs_read", _acting(_alice, [_researcher, _agent("stranger")]))
	_denied_with(d, ["actor_tenant_mismatch"])
	endswith(d.reasons[0].message, ": 'stranger'")
}

test_actor_whose_sub_and_spiffe_id_disagree_denied if {
	mixed := object.union(_agent("researcher"), {"spiffe_id": "spiffe://example.org/agents/ledger"})
	d := delegation.decision with input as _call("fs_read", _acting(_alice, [mixed]))
	_denied_with(d, ["actor_tenant_mismatch"])
}

test_agent_denied_when_the_user_has_no_tenant if {
	# object.union merges recursively: take the claims out to drop the tenant.
	bob := object.union(object.remove(_alice, ["claims"]), {"sub": "bob", "claims": {}})
	d := delegation.decision with input as _call("fs_read", _acting(bob, [_researcher]))
	_denied_with(d, ["actor_tenant_mismatch"])
	contains(d.reasons[0].message, "tenant '(none)'")
}

test_malformed_actor_denied_with_a_message if {
	d := delegation.decision with input as _call("fs_read", _acting(_alice, [{"attested": true}]))
	_denied_with(d, ["actor_tenant_mismatch"])
	endswith(d.reasons[0].message, ": (an actor without sub)")
}

# --- rule 2: at most two hops ---------------------------------------------------

test_two_hops_allowed if {
	chain := [_svid_agent("spiffe://example.org/agents/summarizer"), _agent("researcher")]
	_allowed_outright(delegation.decision) with input as _call("fs_read", _acting(_alice, chain))
}

test_three_hops_denied if {
	chain := [_agent("summarizer"), _researcher, _agent("researcher")]
	d := delegation.decision with input as _call("fs_read", _acting(_alice, chain))
	_denied_with(d, ["delegation_too_long"])
	startswith(d.reasons[0].message, "at most two agents")
}

# --- rule 3: destructive tools need a human in the chain ------------------------

test_human_alone_runs_a_destructive_tool_outright if {
	every tool in ["db_drop", "fs_delete"] {
		_allowed_outright(delegation.decision) with input as _call(tool, _alice)
	}
}

test_humans_agent_runs_a_destructive_tool_once_the_human_approves if {
	d := delegation.decision with input as _call("db_drop", _acting(_alice, [_researcher]))
	d == {
		"allow": true,
		"reasons": [],
		"obligations": {"approval": {
			"approvers": "self",
			"reason": concat("", [
				"your agent 'spiffe://example.org/agents/researcher' asks to run the destructive tool ",
				"'db_drop' for you: approve it only if you meant it to",
			]),
		}},
		"visible": null,
	}
}

test_shared_principal_denied_a_destructive_tool if {
	shared := object.union(_alice, {"shared": true, "usage": {"clients": 5, "workloads": 0, "chains": 1}})
	d := delegation.decision with input as _call("fs_delete", shared)
	_denied_with(d, ["human_required"])
	startswith(d.reasons[0].message, "tool 'fs_delete' is destructive: only a human user")
	_denied_with(delegation.decision, ["human_required"]) with input as _call("db_drop", _acting(shared, [_researcher]))
}

test_workload_denied_a_destructive_tool if {
	ci := {"kind": "workload", "spiffe_id": "spiffe://example.org/ci/runner", "actor": [], "shared": false}
	_denied_with(delegation.decision, ["human_required"]) with input as _call("db_drop", ci)
}

test_principal_without_shared_flag_is_not_taken_for_a_human if {
	unknown := object.remove(_alice, ["shared"])
	_denied_with(delegation.decision, ["human_required"]) with input as _call("fs_delete", unknown)
	_allowed_outright(delegation.decision) with input as _call("fs_read", unknown)
}

test_denied_destructive_call_asks_for_no_approval if {
	d := delegation.decision with input as _call("db_drop", _acting(_alice, [_agent("stranger")]))
	_denied_with(d, ["actor_tenant_mismatch"])
}

# --- rule 4: some tools need an attributable agent ------------------------------

test_attested_agent_sends_payments if {
	_allowed_outright(delegation.decision) with input as _call("payments_send", _acting(_alice, [_researcher]))
}

test_unattested_agent_refused_payments_send if {
	d := delegation.decision with input as _call("payments_send", _acting(_alice, [_agent("researcher")]))
	_denied_with(d, ["agent_not_attributable"])
	d.reasons[0].message == concat("", [
		"tool 'payments_send' needs an attributable agent: the most recent actor must ",
		"prove itself with its own JWT-SVID",
	])
}

test_payments_send_without_an_agent_refused if {
	_denied_with(delegation.decision, ["agent_not_attributable"]) with input as _call("payments_send", _alice)
}

test_only_the_most_recent_actor_counts_for_attribution if {
	chain := [_agent("summarizer"), _researcher]
	d := delegation.decision with input as _call("payments_send", _acting(_alice, chain))
	_denied_with(d, ["agent_not_attributable"])
}

# --- methods and several failures -----------------------------------------------

test_other_methods_denied if {
	list := {"request": {"method": "tools/list"}, "principal": _alice}
	_denied_with(delegation.decision, ["method_not_permitted"]) with input as list
	_denied_with(delegation.decision, ["method_not_permitted"]) with input as {}
}

test_every_failure_is_reported if {
	ci := {"kind": "workload", "actor": [_agent("a"), _agent("b"), _agent("c")], "shared": false, "claims": {}}
	d := delegation.decision with input as _call("db_drop", ci)
	_denied_with(d, ["actor_tenant_mismatch", "delegation_too_long", "human_required"])
	endswith(d.reasons[0].message, ": 'a', 'b', 'c'")
}
