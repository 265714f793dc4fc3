package mcp.examples.time_window_test

import data.mcp.examples.time_window

# 2026-03-04 (a Wednesday) 10:30 and 20:00 UTC, and 2026-03-07 (a Saturday) 10:30 UTC.
_wed_1030 := time.parse_rfc3339_ns("2026-03-04T10:30:00Z")

_wed_2000 := time.parse_rfc3339_ns("2026-03-04T20:00:00Z")

_sat_1030 := time.parse_rfc3339_ns("2026-03-07T10:30:00Z")

_call(tool, now) := {"request": {"method": "tools/call", "tool": tool}, "now_ns": now}

_codes(d) := [r.code | some r in d.reasons]

test_deploy_in_window if {
	d := time_window.decision with input as _call("deploy", _wed_1030) with time.now_ns as _wed_1030
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}
}

test_deploy_after_hours_denied if {
	d := time_window.decision with input as _call("deploy", _wed_2000) with time.now_ns as _wed_2000
	_codes(d) == ["outside_time_window"]
	d.reasons[0].message == "tool 'deploy' may only run Monday, Thursday, Tuesday, Wednesday from 9:00 to 17:00 UTC"
}

test_deploy_on_saturday_denied if {
	d := time_window.decision with input as _call("deploy", _sat_1030) with time.now_ns as _sat_1030
	_codes(d) == ["outside_time_window"]
}

test_unknown_tool_and_method_denied if {
	_codes(time_window.decision) == ["tool_unknown"] with input as _call("shell", _wed_1030) with time.now_ns as _wed_1030
	_codes(time_window.decision) == ["method_not_permitted"] with input as {} with time.now_ns as _wed_1030
}

# The arithmetic agrees with time.clock and time.weekday (which opa test has natively).
test_hour_and_weekday_match_time_builtins if {
	every ns in [0, _wed_1030, _wed_2000, _sat_1030, time.parse_rfc3339_ns("2099-12-31T23:59:59Z")] {
		[h, _, _] := time.clock([ns, "UTC"])
		time_window.hour == h with time.now_ns as ns
		time_window.weekday == time.weekday([ns, "UTC"]) with time.now_ns as ns
	}
}
