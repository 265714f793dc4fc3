#!/usr/bin/env bash
# Compiles the default policies (policies/, without *_test.rego and examples/) to a
# WebAssembly bundle with the two engine entrypoints, mcp/authz/decision and
# mcp/session/grant.
#
#   scripts/build-bundle.sh [OUTPUT]     OUTPUT defaults to bundles/default.tar.gz
#
# The bundle revision is derived from the sources, so the same sources always give
# the same revision: the first 12 hex digits of the sha256 of a manifest listing
# "<sha256 of file>  <path under policies/>" for every non-test .rego file and every
# data.json under policies/ (examples/ excluded), sorted by path in the C locale.
# The output is written to a hidden temporary file first and then renamed, so a
# watcher never sees a half-written bundle.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root="$ROOT"
[ -x "$OPA" ] || die "the pinned opa $OPA_VERSION is not installed; run scripts/setup.sh"
out="${1:-$root/bundles/default.tar.gz}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}

# The revision: a hash over the bundle's sources, independent of time and checkout path.
revision() {
  local f
  (
    cd "$root/policies"
    find . -path ./examples -prune -o -type f \( -name '*.rego' ! -name '*_test.rego' -o -name data.json \) -print |
      sed 's|^\./||' | LC_ALL=C sort |
      while IFS= read -r f; do printf '%s  %s\n' "$(sha256 <"$f")" "$f"; done
  ) | sha256 | cut -c1-12
}

# The revision orders bundles (a reload refuses one that is not newer: docs/policies.md):
# the build time, UTC, then the content hash. SOURCE_DATE_EPOCH pins the time, for a
# reproducible build (scripts/check-bundle.sh rebuilds at the committed bundle's time).
built_at() {
  node -e 'const s = process.env.SOURCE_DATE_EPOCH;
    const d = s === undefined || s === "" ? new Date() : new Date(Number(s) * 1000);
    if (Number.isNaN(d.getTime())) { console.error("SOURCE_DATE_EPOCH is not a number of seconds"); process.exit(1); }
    console.log(d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, ""));'
}
opa="$OPA"
rev="$(built_at)-$(revision)"
mkdir -p "$(dirname "$out")"
tmp="$(dirname "$out")/.$(basename "$out").$$.tmp"
trap 'rm -f "$tmp"' EXIT

# Built from inside policies/ so the bundle's paths are /mcp/..., not /policies/mcp/...
(
  cd "$root/policies"
  "$opa" build -t wasm \
    -e mcp/authz/decision \
    -e mcp/session/grant \
    --ignore '*_test.rego' \
    --ignore examples \
    --ignore '.*' \
    --revision "$rev" \
    -o "$tmp" \
    .
)
mv -f "$tmp" "$out"
trap - EXIT
echo "built ${out#"$root"/} (revision $rev) with opa $OPA_VERSION"
