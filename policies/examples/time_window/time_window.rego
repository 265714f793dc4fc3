# METADATA
# title: Example - tools allowed in a UTC time window
# description: |
#   Each tool has a window of UTC hours [from, to) and the weekdays it may run.
#   The clock is time.now_ns(), which mcp-warden sets to input.now_ns, so the
#   decision sees one clock. time.clock, time.date and time.weekday are not native
#   in OPA's WASM target (a bundle calling them fails with policy_builtin_missing),
#   so hour and weekday are computed from the nanoseconds with integer arithmetic.
package mcp.examples.time_window

# Tool -> {from, to (exclusive), days}; hours are UTC.
windows := {
	"deploy": {"from": 9, "to": 17, "days": {"Monday", "Tuesday", "Wednesday", "Thursday"}},
	"db_backup": {
		"from": 1,
		"to": 5,
		"days": {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
	},
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

deny contains {"code": "tool_unknown", "message": "the tool is not in the example's table"} if {
	_method == "tools/call"
	not _known_tool
}

deny contains {"code": "outside_time_window", "message": concat("", [
	"tool '", input.request.tool, "' may only run ", concat(", ", sort(w.days)),
	" from ", format_int(w.from, 10), ":00 to ", format_int(w.to, 10), ":00 UTC",
])} if {
	_method == "tools/call"
	w := windows[input.request.tool]
	not _within(w)
}

_known_tool if is_object(windows[input.request.tool])

_within(w) if {
	hour >= w.from
	hour < w.to
	weekday in w.days
}

_seconds := floor(time.now_ns() / 1000000000)

# The UTC hour, 0-23.
hour := floor(_seconds / 3600) % 24

_weekdays := ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"]

# The UTC weekday; day 0 of the epoch (1970-01-01) was a Thursday.
weekday := _weekdays[floor(_seconds / 86400) % 7]
