#!/usr/bin/env bash
# Installs what is missing, and nothing else: npm dependencies (which bring Node 24 via
# the `node` package when the machine's Node is older) and the pinned `opa` CLI. Safe to
# run again and again.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# 1. npm dependencies, when absent or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge "$NODE_MAJOR_MIN" ] || die "Node $node_major is too old and the node package did not install"

# 2. opa at the pinned version: the one on PATH when it is that version, else go install.
want=${OPA_VERSION#v}
have_version() { "$1" version 2>/dev/null | awk '/^Version:/ {print $2}'; }
if [ ! -x "$OPA" ] || [ "$(have_version "$OPA")" != "$want" ]; then
  mkdir -p "$TOOLS_BIN"
  rm -f "$OPA"
  onpath=$(PATH=${PATH#"$ROOT/node_modules/.bin:$TOOLS_BIN:"} command -v opa || true)
  gopath_opa="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin/opa"
  for candidate in "$onpath" "$gopath_opa"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(have_version "$candidate")" = "$want" ]; then
      ln -s "$candidate" "$OPA"
      log "using opa $want at $candidate"
      break
    fi
  done
  if [ ! -x "$OPA" ]; then
    command -v go >/dev/null || die "opa $want is not installed and Go is missing to install it"
    log "installing opa $want with go install (a few minutes, once)"
    GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION"
  fi
fi
log "ready: node $(node -v), opa $(have_version "$OPA")"
