# METADATA
# title: Example - tools/list visibility
# description: |
#   tools/list is allowed and visible is the sorted candidates (or, without
#   candidates, every tool) the principal's roles let it call; tools/call of a
#   tool that would not be visible is refused, so listing and calling agree.
package mcp.examples.visibility

# Role -> the tools it may call.
role_tools := {
	"reader": {"fs_read", "fs_list"},
	"writer": {"fs_read", "fs_list", "fs_write"},
}

# METADATA
# title: decision
# description: Same shape as mcp/authz/decision.
# entrypoint: true
decision := {
	"allow": count(deny) == 0,
	"reasons": sort(deny),
	"obligations": {},
	"visible": visible,
}

default _method := ""

_method := input.request.method if is_string(input.request.method)

# Every tool a role of the principal grants.
callable contains t if {
	some r in input.principal.roles
	some t in role_tools[r]
}

default visible := null

visible := sort({c | some c in input.request.candidates; c in callable}) if {
	_method == "tools/list"
	is_array(input.request.candidates)
} else := sort(callable) if {
	_method == "tools/list"
}

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/list and tools/call"} if {
	not _method in {"tools/list", "tools/call"}
}

deny contains {"code": "tool_not_permitted", "message": "no role of the principal permits the tool"} if {
	_method == "tools/call"
	not input.request.tool in callable
}
