# METADATA
# title: Example - per-tool RBAC
# description: |
#   Each tool lists the roles that may call it; a tools/call is allowed when the
#   principal holds one of them. Data is inline. Deny by default: an unknown
#   method or tool is refused with a reason.
package mcp.examples.rbac

# Tool -> the roles allowed to call it.
tool_roles := {
	"fs_read": {"reader", "writer", "admin"},
	"fs_write": {"writer", "admin"},
	"fs_delete": {"admin"},
}

# METADATA
# title: decision
# description: Same shape as mcp/authz/decision.
# entrypoint: true
decision := {
	"allow": count(deny) == 0,
	"reasons": sort(deny),
	"obligations": {},
	"visible": null,
}

default _method := ""

_method := input.request.method if is_string(input.request.method)

_tool := input.request.tool if is_string(input.request.tool)

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/call"} if {
	_method != "tools/call"
}

deny contains {"code": "tool_unknown", "message": "the tool is not in the example's table"} if {
	_method == "tools/call"
	not _known_tool
}

deny contains {"code": "tool_not_permitted", "message": concat("", [
	"no role of the principal permits tool '", _tool, "'",
])} if {
	_method == "tools/call"
	allowed := tool_roles[_tool]
	count({r | some r in input.principal.roles; r in allowed}) == 0
}

_known_tool if is_set(tool_roles[_tool])
