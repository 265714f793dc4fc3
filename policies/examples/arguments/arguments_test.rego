package mcp.examples.arguments_test

import data.mcp.examples.arguments

_call(tool, args) := {"request": {"method": "tools/call", "tool": tool, "arguments": args}}

_codes(d) := [r.code | some r in d.reasons]

test_fetch_allowed_host if {
	d := arguments.decision with input as _call("http_fetch", {"url": "https://api.example.com/v1/items?x=1"})
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}
}

test_fetch_other_host_denied if {
	d := arguments.decision with input as _call("http_fetch", {"url": "https://evil.example.net/"})
	_codes(d) == ["argument_not_allowed"]
}

test_fetch_userinfo_trick_denied if {
	d := arguments.decision with input as _call("http_fetch", {"url": "https://api.example.com@evil.example.net/"})
	not d.allow
}

test_fetch_plain_http_denied if {
	d := arguments.decision with input as _call("http_fetch", {"url": "http://api.example.com/"})
	not d.allow
}

test_fetch_missing_url_denied if {
	d := arguments.decision with input as _call("http_fetch", null)
	not d.allow
}

test_sql_rows_within_limit if {
	d := arguments.decision with input as _call("sql_query", {"query": "select 1", "max_rows": 1000})
	d.allow
}

test_sql_too_many_rows_denied if {
	d := arguments.decision with input as _call("sql_query", {"query": "select 1", "max_rows": 1001})
	_codes(d) == ["argument_not_allowed"]
	d.reasons[0].message == "argument 'max_rows' must be an integer from 1 to 1000"
}

test_sql_fractional_or_missing_rows_denied if {
	not arguments.decision.allow with input as _call("sql_query", {"max_rows": 2.5})
	not arguments.decision.allow with input as _call("sql_query", {})
}

test_unknown_tool_and_method_denied if {
	_codes(arguments.decision) == ["method_not_permitted"] with input as {}
	_codes(arguments.decision) == ["tool_unknown"] with input as _call("shell", {})
}
