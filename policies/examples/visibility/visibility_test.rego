package mcp.examples.visibility_test

import data.mcp.examples.visibility

_list(roles, candidates) := {
	"request": {"method": "tools/list", "candidates": candidates},
	"principal": {"roles": roles},
}

_codes(d) := [r.code | some r in d.reasons]

test_reader_sees_candidates_it_may_call if {
	d := visibility.decision with input as _list(["reader"], ["fs_write", "fs_read", "shell", "fs_list"])
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": ["fs_list", "fs_read"]}
}

test_without_candidates_sees_all_callable if {
	d := visibility.decision with input as _list(["writer"], null)
	d.visible == ["fs_list", "fs_read", "fs_write"]
}

test_no_role_sees_nothing if {
	d := visibility.decision with input as _list([], null)
	d.allow
	d.visible == []
}

test_call_of_hidden_tool_denied if {
	d := visibility.decision with input as {
		"request": {"method": "tools/call", "tool": "fs_write"},
		"principal": {"roles": ["reader"]},
	}
	_codes(d) == ["tool_not_permitted"]
	d.visible == null
}

test_call_of_visible_tool_allowed if {
	d := visibility.decision with input as {
		"request": {"method": "tools/call", "tool": "fs_read"},
		"principal": {"roles": ["reader"]},
	}
	d.allow
}

test_other_method_denied if {
	_codes(visibility.decision) == ["method_not_permitted"] with input as {}
}
