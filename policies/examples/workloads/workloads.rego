# METADATA
# title: Example - tools for SPIFFE workloads
# description: |
#   Each tool may only be called by a workload (principal.kind == "workload")
#   whose SPIFFE ID starts with the tool's prefix. Prefixes end with "/" so that
#   spiffe://example.org/ci does not also match spiffe://example.org/ci-evil.
package mcp.examples.workloads

# Tool -> the SPIFFE ID prefix of the workloads that may call it.
tool_prefixes := {
	"deploy": "spiffe://example.org/ci/",
	"fs_read": "spiffe://example.org/batch/",
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

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/call"} if {
	_method != "tools/call"
}

deny contains {"code": "principal_not_workload", "message": "only SPIFFE workloads may call tools"} if {
	not input.principal.kind == "workload"
}

deny contains {"code": "tool_unknown", "message": "the tool is not in the example's table"} if {
	_method == "tools/call"
	not _known_tool
}

deny contains {"code": "workload_not_permitted", "message": concat("", [
	"only workloads under ", prefix, " may call this tool",
])} if {
	_method == "tools/call"
	input.principal.kind == "workload"
	prefix := tool_prefixes[input.request.tool]
	not _under(input.principal.spiffe_id, prefix)
}

_known_tool if is_string(tool_prefixes[input.request.tool])

_under(id, prefix) if {
	is_string(id)
	startswith(id, prefix)
}
