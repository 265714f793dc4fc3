#!/usr/bin/env bash
# Every test: lint, types, Rego (fmt, check, Regal lint, unit tests with coverage), the
# committed bundle against a fresh build, then vitest (unit, integration, security, e2e).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
log "lint: biome (format and lint) and the 120-column limit"
bash scripts/lint.sh
log "typecheck, and the build that ships (dist/)"
tsc -p tsconfig.json --noEmit
dist_check=$(mktemp -d)
trap 'rm -rf "$dist_check"' EXIT
tsc -p tsconfig.build.json --outDir "$dist_check"
node "$dist_check/cli.js" help >/dev/null
log "policy tests"
bash scripts/policy-test.sh
log "committed bundle matches policies/"
bash scripts/check-bundle.sh
log "vitest"
vitest run --exclude 'test/faults/**' "$@"
# Fault injection kills and starves real servers under load, with timed phases: one
# scenario at a time, so that no other test file competes with it for the 2 cores.
log "vitest: fault injection, one file at a time"
vitest run test/faults --no-file-parallelism
