#!/usr/bin/env bash
# Fails when the committed bundle differs from a fresh build of policies/: its
# policy.wasm, data.json or revision. The fix is `npm run build:bundle` and a commit.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$ROOT/scripts/build-bundle.sh" "$work/fresh.tar.gz" >/dev/null
mkdir "$work/fresh" "$work/committed"
tar -xzf "$work/fresh.tar.gz" -C "$work/fresh" 2>/dev/null
tar -xzf "$ROOT/bundles/default.tar.gz" -C "$work/committed" 2>/dev/null
status=0
for f in policy.wasm data.json .manifest; do
  if ! cmp -s "$work/fresh/$f" "$work/committed/$f"; then
    log "bundles/default.tar.gz is stale: $f differs from a fresh build of policies/ (run: npm run build:bundle)"
    status=1
  fi
done
[ "$status" -ne 0 ] || log "bundles/default.tar.gz matches policies/ (revision $(node -p "JSON.parse(require('fs').readFileSync('$work/fresh/.manifest','utf8')).revision"))"
exit "$status"
