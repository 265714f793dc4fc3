# METADATA
# title: Example - argument constraints
# description: |
#   http_fetch may only fetch https URLs on an allowlisted host (exact match, no
#   userinfo, no port); sql_query must ask for an integer max_rows between 1 and
#   the limit. Any other tool or method is refused.
package mcp.examples.arguments

# Hosts http_fetch may reach.
allowed_hosts := {"api.example.com", "docs.example.com"}

# The most rows sql_query may return.
max_rows_limit := 1000

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

_tools := {"http_fetch", "sql_query"}

default _method := ""

_method := input.request.method if is_string(input.request.method)

default _args := {}

_args := input.request.arguments if is_object(input.request.arguments)

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/call"} if {
	_method != "tools/call"
}

deny contains {"code": "tool_unknown", "message": "the tool is not in the example's table"} if {
	_method == "tools/call"
	not input.request.tool in _tools
}

deny contains {"code": "argument_not_allowed", "message": "argument 'url' must be https:// on an allowed host"} if {
	_method == "tools/call"
	input.request.tool == "http_fetch"
	not _host_allowed(object.get(_args, "url", null))
}

deny contains {"code": "argument_not_allowed", "message": concat("", [
	"argument 'max_rows' must be an integer from 1 to ",
	format_int(max_rows_limit, 10),
])} if {
	_method == "tools/call"
	input.request.tool == "sql_query"
	not _rows_ok(object.get(_args, "max_rows", null))
}

_host_allowed(url) if _host(url) in allowed_hosts

# The lower-cased host of an https URL; undefined for anything else, or when the
# authority carries userinfo.
_host(url) := lower(authority) if {
	is_string(url)
	startswith(lower(url), "https://")
	rest := substring(url, 8, -1)
	authority := split(split(split(rest, "/")[0], "?")[0], "#")[0]
	not contains(authority, "@")
}

_rows_ok(n) if {
	is_number(n)
	n == floor(n)
	n >= 1
	n <= max_rows_limit
}
