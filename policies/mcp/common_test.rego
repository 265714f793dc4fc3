package mcp.common_test

import data.mcp.common

_principal(roles, scopes) := {"roles": roles, "scopes": scopes}

# --- data defaults -------------------------------------------------------------

test_missing_catalogue_is_empty if {
	not common.destructive_approval_configured with data.catalogue as {}
	common.tools == {} with data.catalogue as {}
	common.roles == {} with data.catalogue as {}
	common.prompts == set() with data.catalogue as {}
	common.destructive_roles == [] with data.catalogue as {}
}

test_malformed_catalogue_is_empty if {
	catalogue := {"tools": ["fs_read"], "roles": "reader", "prompts": "summarize", "destructive_roles": "admin"}
	common.tools == {} with data.catalogue as catalogue
	common.roles == {} with data.catalogue as catalogue
	common.prompts == set() with data.catalogue as catalogue
	common.destructive_roles == [] with data.catalogue as catalogue
}

test_non_string_prompts_dropped if {
	common.prompts == {"a"} with data.catalogue as {"prompts": ["a", 1, null]}
}

# --- effective roles -----------------------------------------------------------

test_effective_roles_union_of_roles_and_scopes if {
	roles := common.effective_roles with input.principal as _principal(["reader"], ["mcp:admin", "openid"])
	roles == {"reader", "admin"}
}

test_effective_roles_restricted_to_defined if {
	roles := common.effective_roles with input.principal as _principal(["root", 1, null, "writer"], ["mcp:root", 2])
	roles == {"writer"}
}

test_effective_roles_of_scope_mapping_to_undefined_role if {
	catalogue := object.union(data.catalogue, {"scope_roles": {"mcp:root": "root"}})
	roles := common.effective_roles with input.principal as _principal([], ["mcp:root"]) with data.catalogue as catalogue
	roles == set()
}

test_effective_roles_of_malformed_principal if {
	common.effective_roles == set() with input.principal as "admin"
	common.effective_roles == set() with input.principal as {"roles": "admin", "scopes": "mcp:admin"}
	common.effective_roles == set() with input as {}
}

# --- tools ---------------------------------------------------------------------

# The default catalogue without destructive_approval: only a destructive role deletes.
_no_approval := object.remove(data.catalogue, ["destructive_approval"])

test_permitted_and_callable_tools if {
	writer := _principal(["writer"], [])
	common.permitted_tools == {"fs_read", "fs_list", "search_docs", "fs_write", "fs_delete"} with input.principal as writer
	common.callable_tools == {"fs_read", "fs_list", "search_docs", "fs_write"} with input.principal as writer
		with data.catalogue as _no_approval
	common.callable_tools == common.permitted_tools with input.principal as _principal(["writer", "admin"], [])
}

test_callable_tools_include_destructive_once_approved if {
	writer := _principal(["writer"], [])
	common.callable_tools == common.permitted_tools with input.principal as writer
	common.callable_tools == {"fs_read", "fs_list", "search_docs"} with input.principal as _principal(["reader"], [])
}

test_needs_approval if {
	common.needs_approval("fs_delete") with input.principal as _principal(["writer"], [])
	common.needs_approval("fs_delete") with input.principal as _principal([], ["mcp:write"])
	not common.needs_approval("fs_delete") with input.principal as _principal(["writer", "admin"], [])
	not common.needs_approval("fs_delete") with input.principal as _principal(["reader"], [])
	not common.needs_approval("fs_write") with input.principal as _principal(["writer"], [])
	not common.needs_approval("ghost") with input.principal as _principal(["writer"], [])
	not common.needs_approval("fs_delete") with input.principal as _principal(["writer"], [])
		with data.catalogue as _no_approval
}

test_approval_obligation_of_the_default_catalogue if {
	common.approval_obligation("fs_delete") == {
		"approvers": {"roles": ["admin"]},
		"grant_ttl_seconds": 300,
		"reason": "fs_delete is destructive: a holder of role admin must approve this exact call",
	}
}

test_approvers_text if {
	common._approvers_text("self") == "you (after signing in again)"
	common._approvers_text({"groups": ["ops", "dba"]}) == "a member of group dba or ops"
	common._approvers_text({"subjects": ["bob", 3], "roles": []}) == "subject bob"
	common._approvers_text({"roles": [], "subjects": [], "groups": []}) == "an approver"
	common._approvers_text({"roles": "admin"}) == "an approver"
	common._approvers_text(["admin"]) == "an approver"
	common._approvers_text("other") == "an approver"
}

test_role_listing_unknown_tool_grants_nothing if {
	catalogue := object.union(data.catalogue, {"roles": {"reader": {"tools": ["fs_read", "ghost", 3]}}})
	reader := _principal(["reader"], [])
	common.permitted_tools == {"fs_read"} with input.principal as reader with data.catalogue as catalogue
}

test_tool_refusal_order if {
	reader := _principal(["reader"], [])
	common.tool_refusal("ghost").code == "tool_unknown" with input.principal as reader
	common.tool_refusal("fs_delete").code == "tool_not_permitted" with input.principal as reader
	not common.tool_refusal("fs_delete") with input.principal as _principal(["writer"], [])
	common.tool_refusal("fs_delete").code == "destructive_requires_role" with input.principal as _principal(["writer"], [])
		with data.catalogue as _no_approval
	not common.tool_refusal("fs_delete") with input.principal as _principal(["admin"], [])
	not common.tool_refusal("fs_read") with input.principal as reader
}

test_destructive_message_lists_roles_sorted if {
	catalogue := object.union(data.catalogue, {"destructive_roles": ["owner", "admin", 5]})
	r := common.destructive_requires_role("fs_delete") with data.catalogue as catalogue
	r == {
		"code": "destructive_requires_role",
		"message": "tool 'fs_delete' is destructive and requires one of the roles: admin, owner",
	}
}

# --- strings and paths ---------------------------------------------------------

test_unsafe_path if {
	every path in [
		"..",
		"/a/..",
		"../a",
		"/a/../b",
		"/a/%2e%2e/b",
		"/a/%2E%2e/b",
		"/a/.%2E/b",
		"/a/..%2Fb",
		"/a/..%5cb",
		"/a\\..\\b",
		"/a/\u0000",
	] {
		common.unsafe_path(path)
	}
}

test_safe_path if {
	every path in ["/a/b", "/a/..b", "/a/b..", "/a/.../b", "/a/./b", "/a/%2e/b", "", "/"] {
		not common.unsafe_path(path)
	}
}

test_has_prefix if {
	common.has_prefix("/srv/data/a", ["/tmp/", "/srv/data/"])
	not common.has_prefix("/srv/data/a", [])
	not common.has_prefix("/srv/data/a", [""])
	not common.has_prefix("/srv/data/a", [1])
	not common.has_prefix("/srv/data/a", "/srv/")
}

test_display if {
	common.display("x") == "x"
	common.display(null) == "(missing)"
	common.display(1) == "(not a string)"
	common.display({"a": 1}) == "(not a string)"
}

test_strings if {
	common.string_elements(["a", 1, "b", "a"]) == {"a", "b"}
	common.string_elements("a") == set()
	common.string_elements(null) == set()
	common.string_elements({"k": "v"}) == set()
}
