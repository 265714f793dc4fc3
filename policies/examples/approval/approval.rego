# METADATA
# title: Example - human approval of destructive tools
# description: |
#   Destructive tools are allowed with the `approval` obligation, which the engine
#   enforces: it parks the call until an approver grants a one-time grant for that
#   exact call (docs/approvals.md). `db_drop` needs an approval by a DBA: a subject
#   of dba_subjects or a member of the group `dba`, never the requester itself.
#   `fs_delete` needs the requester's own confirmation (`self`) after signing in
#   again. `fs_read` needs none. `db_drop` takes a `database` argument, a name of
#   letters, digits and underscores (argument_not_allowed otherwise). Data is
#   inline. Deny by default: an unknown method or tool is refused with a reason,
#   and a deny carries no obligation.
package mcp.examples.approval

# Subjects who may approve a db_drop, besides the members of the group dba.
dba_subjects := ["carol", "dba-oncall"]

# Tool -> the approval a call needs, without its reason (added per call), or null
# for none. The engine checks the obligation (src/approval/obligation.ts).
tool_approvals := {
	"fs_read": null,
	"fs_delete": {
		"approvers": "self",
		"grant_ttl_seconds": 120,
	},
	"db_drop": {
		"approvers": {"subjects": dba_subjects, "groups": ["dba"]},
		"grant_ttl_seconds": 300,
		"request_ttl_seconds": 3600,
	},
}

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

default _arguments := {}

_arguments := input.request.arguments if is_object(input.request.arguments)

# --- obligations ---------------------------------------------------------------

default obligations := {}

# Only on an allow: a refused call asks nobody for an approval.
obligations := {"approval": _obligation} if {
	allow
	_method == "tools/call"
	is_object(tool_approvals[_tool])
}

# The tool's approval with its reason; without one if the reason cannot be built, so
# that a missing message never drops the obligation (and with it the approval).
_obligation := object.union(tool_approvals[_tool], {"reason": _reason[_tool]}) if {
	is_string(_reason[_tool])
} else := tool_approvals[_tool]

# What the approver is shown.
_reason["fs_delete"] := concat("", [
	"fs_delete deletes '", _path_text, "': confirm it is you, after signing in again",
])

_reason["db_drop"] := concat("", [
	"db_drop drops the database '", _arguments.database, "': a DBA must approve this exact call",
])

# The path for fs_delete's message, at most 200 characters (a reason is at most 1024).
default _path_text := "(no path)"

_path_text := substring(_arguments.path, 0, 200) if is_string(_arguments.path)

# --- deny ----------------------------------------------------------------------

deny contains {"code": "method_not_permitted", "message": "this example only decides tools/call"} if {
	_method != "tools/call"
}

deny contains {"code": "tool_unknown", "message": "the tool is not in the example's table"} if {
	_method == "tools/call"
	not _known_tool
}

deny contains {
	"code": "argument_not_allowed",
	"message": "argument 'database' must be a name of 1 to 64 letters, digits or underscores",
} if {
	_method == "tools/call"
	_tool == "db_drop"
	not _database_name(object.get(_arguments, "database", null))
}

_known_tool if _tool in object.keys(tool_approvals)

_database_name(v) if {
	is_string(v)
	regex.match(`^[A-Za-z0-9_]{1,64}$`, v)
}
