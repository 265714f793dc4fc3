#!/usr/bin/env bash
# Every test: types, Rego (fmt, check, unit tests with coverage), the committed bundle
# against a fresh build, then vitest (unit, integration, security, e2e).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
log "typecheck"
tsc -p tsconfig.json --noEmit
log "policy tests"
bash scripts/policy-test.sh
log "committed bundle matches policies/"
bash scripts/check-bundle.sh
log "vitest"
vitest run "$@"
