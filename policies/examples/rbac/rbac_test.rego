package mcp.examples.rbac_test

import data.mcp.examples.rbac

_call(tool, roles) := {"request": {"method": "tools/call", "tool": tool}, "principal": {"roles": roles}}

test_reader_reads if {
	d := rbac.decision with input as _call("fs_read", ["reader"])
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}
}

test_admin_deletes if {
	d := rbac.decision with input as _call("fs_delete", ["reader", "admin"])
	d.allow
}

test_writer_cannot_delete if {
	d := rbac.decision with input as _call("fs_delete", ["writer"])
	not d.allow
	[r.code | some r in d.reasons] == ["tool_not_permitted"]
}

test_unknown_tool_denied if {
	d := rbac.decision with input as _call("rm_rf", ["admin"])
	[r.code | some r in d.reasons] == ["tool_unknown"]
}

test_other_method_denied if {
	d := rbac.decision with input as {"request": {"method": "prompts/get"}}
	[r.code | some r in d.reasons] == ["method_not_permitted"]
}

test_empty_input_denied if {
	d := rbac.decision with input as {}
	not d.allow
}
