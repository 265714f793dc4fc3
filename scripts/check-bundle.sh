#!/usr/bin/env bash
# Fails when the committed bundle differs from a fresh build of policies/: its
# policy.wasm, data.json or revision. The fix is `npm run build:bundle` and a commit.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/fresh" "$work/committed"
tar -xzf "$ROOT/bundles/default.tar.gz" -C "$work/committed" 2>/dev/null
# Rebuilt at the committed bundle's build time, so that only the content can differ.
epoch=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).revision ?? "";
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(r);
  console.log(m ? Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000 : 0);' "$work/committed/.manifest")
SOURCE_DATE_EPOCH=$epoch bash "$ROOT/scripts/build-bundle.sh" "$work/fresh.tar.gz" >/dev/null
tar -xzf "$work/fresh.tar.gz" -C "$work/fresh" 2>/dev/null
status=0
for f in policy.wasm data.json .manifest; do
  if ! cmp -s "$work/fresh/$f" "$work/committed/$f"; then
    log "bundles/default.tar.gz is stale: $f differs from a fresh build of policies/ (run: npm run build:bundle)"
    status=1
  fi
done
[ "$status" -ne 0 ] || log "bundles/default.tar.gz matches policies/ (revision $(node -p "JSON.parse(require('fs').readFileSync('$work/fresh/.manifest','utf8')).revision"))"
exit "$status"
