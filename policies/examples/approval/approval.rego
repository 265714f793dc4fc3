# METADATA
# title: Example - approval for destructive tools
# description: |
#   Non-destructive tools are allowed. A destructive tool is allowed with the
#   obligation {"require_approval": true, "approvers": [...]} for the PEP to
#   enforce, unless the call's arguments carry an approval reference
#   (approval_ref, "APR-..."), which the PEP has verified. A malformed reference
#   is refused rather than ignored.
package mcp.examples.approval

# Tool -> whether it is destructive.
tools := {
	"fs_read": false,
	"fs_delete": true,
	"db_drop": true,
}

# Who may approve a destructive call.
approvers := ["data-owner", "secops"]

# METADATA
# title: decision
# description: Same shape as mcp/authz/decision.
# entrypoint: true
decision := {
	"allow": count(deny) == 0,
	"reasons": sort(deny),
	"obligations": obligations,
	"visible": null,
}

default _method := ""

_method := input.request.method if is_string(input.request.method)

default _ref := null

_ref := input.request.arguments.approval_ref

_destructive if tools[input.request.tool] == true

_has_valid_ref if {
	is_string(_ref)
	startswith(_ref, "APR-")
	count(_ref) > 4
}

default obligations := {}

obligations := {"require_approval": true, "approvers": approvers} if {
	count(deny) == 0
	_destructive
	not _has_valid_ref
}

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/call"} if {
	_method != "tools/call"
}

deny contains {"code": "tool_unknown", "message": "the tool is not in the example's table"} if {
	_method == "tools/call"
	not _known_tool
}

_known_tool if is_boolean(tools[input.request.tool])

deny contains {"code": "approval_invalid", "message": "argument 'approval_ref' must be a string 'APR-...'"} if {
	_method == "tools/call"
	_ref != null
	not _has_valid_ref
}
