#!/usr/bin/env bash
# Checks the Rego under policies/: formatting, strict compilation, the *_test.rego
# unit tests, and their coverage of the policy (non-test) files.
#
#   scripts/policy-test.sh               POLICY_COVERAGE_MIN (default 90) sets the floor
#
# Exits non-zero on the first failing step.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root="$ROOT"
[ -x "$OPA" ] || die "the pinned opa $OPA_VERSION is not installed; run scripts/setup.sh"
min="${POLICY_COVERAGE_MIN:-90}"

opa="$OPA"
cd "$root"

echo "== opa fmt"
# --list prints every file that is not formatted; --fail turns that into an exit code.
if ! unformatted="$("$opa" fmt --list --fail policies/)" || [ -n "$unformatted" ]; then
  echo "not opa-fmt clean (run: opa fmt -w policies/):" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== opa check --strict"
"$opa" check --strict policies/

echo "== opa test"
"$opa" test -v policies/

echo "== coverage (policy files, tests excluded; floor ${min}%)"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
"$opa" test --coverage --format=json policies/ >"$report"
node - "$report" "$min" <<'EOF'
const fs = require("node:fs");
const [report, min] = process.argv.slice(2);
// The report is {files: {<path>: {covered_lines, not_covered_lines, not_covered, ...}}, coverage}.
const coverage = JSON.parse(fs.readFileSync(report, "utf8"));
let covered = 0;
let notCovered = 0;
for (const [file, c] of Object.entries(coverage.files ?? {}).sort()) {
  if (file.endsWith("_test.rego")) continue;
  const fc = c.covered_lines ?? 0;
  const fn = c.not_covered_lines ?? 0;
  covered += fc;
  notCovered += fn;
  const pct = fc + fn === 0 ? 100 : (100 * fc) / (fc + fn);
  const missed = (c.not_covered ?? []).map((r) => r.start.row === r.end.row ? `${r.start.row}` : `${r.start.row}-${r.end.row}`);
  console.log(`${pct.toFixed(2).padStart(7)}%  ${file}${missed.length ? `  (not covered: ${[...new Set(missed)].join(", ")})` : ""}`);
}
const total = covered + notCovered === 0 ? 0 : (100 * covered) / (covered + notCovered);
console.log(`${total.toFixed(2).padStart(7)}%  policy total (opa's figure with tests included: ${Number(coverage.coverage ?? 0).toFixed(2)}%)`);
if (!(total >= Number(min))) {
  console.error(`policy coverage ${total.toFixed(2)}% is below ${min}%`);
  process.exit(1);
}
EOF
