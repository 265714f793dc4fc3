#!/usr/bin/env bash
# Checks the Rego under policies/ as it ships: opa fmt, opa check --strict, regal lint
# (configured by .regal/config.yaml), opa test with line coverage of the policy files
# (tests left out) ≥ POLICY_COVERAGE_MIN (90), and the data-driven cases of
# test/fixtures/cases against the compiled WASM bundle. The same command checks a user's
# own folder: `mcp-warden test <dir> --cases <dir>`.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$OPA" ] || die "the pinned opa $OPA_VERSION is not installed; run scripts/setup.sh"
REGAL="$TOOLS_BIN/regal"
[ -x "$REGAL" ] || die "the pinned regal (tools/regal/go.mod) is not installed; run scripts/setup.sh"
cd "$ROOT"
MCP_WARDEN_OPA="$OPA" MCP_WARDEN_REGAL="$REGAL" \
  node src/cli.ts test policies --cases test/fixtures/cases --coverage-min "${POLICY_COVERAGE_MIN:-90}"
