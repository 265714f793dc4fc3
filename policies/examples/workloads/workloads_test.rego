package mcp.examples.workloads_test

import data.mcp.examples.workloads

_call(tool, kind, spiffe_id) := {
	"request": {"method": "tools/call", "tool": tool},
	"principal": {"kind": kind, "spiffe_id": spiffe_id},
}

_codes(d) := [r.code | some r in d.reasons]

test_ci_workload_deploys if {
	d := workloads.decision with input as _call("deploy", "workload", "spiffe://example.org/ci/runner-7")
	d == {"allow": true, "reasons": [], "obligations": {}, "visible": null}
}

test_other_workload_denied if {
	d := workloads.decision with input as _call("deploy", "workload", "spiffe://example.org/batch/job")
	_codes(d) == ["workload_not_permitted"]
}

test_prefix_lookalike_denied if {
	d := workloads.decision with input as _call("deploy", "workload", "spiffe://example.org/ci-evil/x")
	not d.allow
}

test_user_denied if {
	d := workloads.decision with input as _call("fs_read", "user", null)
	_codes(d) == ["principal_not_workload"]
}

test_unknown_tool_and_method_denied if {
	_codes(workloads.decision) == ["tool_unknown"] with input as _call("shell", "workload", "spiffe://example.org/ci/x")
	_codes(workloads.decision) == ["method_not_permitted"] with input as {
		"request": {"method": "ping"},
		"principal": {"kind": "workload"},
	}
}
