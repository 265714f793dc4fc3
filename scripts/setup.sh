#!/usr/bin/env bash
# Installs what is missing, and nothing else: npm dependencies (which bring Node 24 via
# the `node` package when the machine's Node is older), the pinned `opa` CLI,
# `redis-server` (the Redis session store's tests and benchmark start their own), the
# pinned MCP Inspector (its CLI is run through the proxy by an e2e test), tlog-verify (a
# Go checker of the audit trail's checkpoints and proofs, for an interop test), the pinned
# Regal (the Rego linter of the policy tests) and Debian's Chromium (the console's browser
# tests drive it with playwright-core; no browser is ever downloaded). Safe to run again
# and again; it starts no service.
#
#   scripts/setup.sh          everything the tests need
#   scripts/setup.sh serve    only what serving needs (npm dependencies): the committed
#                             bundle means no opa, and the embedded defaults no Redis or
#                             PostgreSQL
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
purpose=${1:-test}

# 1. npm dependencies, when absent or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge "$NODE_MAJOR_MIN" ] || die "Node $node_major is too old and the node package did not install"
if [ "$purpose" = serve ]; then
  log "ready to serve: node $(node -v)"
  exit 0
fi

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

# 3. redis-server from Debian's packages when absent. Only the binary is used (tests and
#    the benchmark start their own on a free port); this script starts nothing, though on
#    a host run by systemd the package itself enables its default service on :6379.
if ! command -v redis-server >/dev/null; then
  command -v apt-get >/dev/null || die "redis-server is missing and apt-get is not there to install it"
  log "installing redis-server (apt-get)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; }
  # A fresh image has no package lists: refresh them only when the install needs it.
  apt_install || { DEBIAN_FRONTEND=noninteractive apt-get update && apt_install; }
fi

# 4. a PostgreSQL server from Debian's packages when absent: `psql` alone is only the client.
#    Only initdb/postgres are used (the Postgres audit sink's tests run their own cluster as
#    the package's `postgres` user); Debian keeps them off PATH, in
#    /usr/lib/postgresql/<ver>/bin. This script starts nothing, though the package itself
#    creates a default cluster and, on a host run by systemd, starts it on :5432.
has_pg_server() { command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
if ! has_pg_server; then
  command -v apt-get >/dev/null || die "the PostgreSQL server is missing and apt-get is not there to install it"
  log "installing postgresql (apt-get)"
  pg_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }
  pg_install || { DEBIAN_FRONTEND=noninteractive apt-get update && pg_install; }
fi
# 5. curl, which the README's copy-paste blocks use (test/docs-quickstart.test.ts runs them).
if ! command -v curl >/dev/null; then
  command -v apt-get >/dev/null || die "curl is missing and apt-get is not there to install it"
  log "installing curl (apt-get)"
  curl_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates; }
  curl_install || { DEBIAN_FRONTEND=noninteractive apt-get update && curl_install; }
fi
# 6. the MCP Inspector at the pinned version, into .tools/inspector: out of package.json,
#    as it is heavy (a web UI, a TUI, their bundlers) and only test/e2e/inspector-cli.test.ts
#    runs it. The version is pinned in versions.sh; a different or broken install is
#    replaced whole. --ignore-scripts: its CLI needs no install script.
INSPECTOR_DIR="$ROOT/.tools/inspector"
inspector_version() {
  local pkg="$INSPECTOR_DIR/node_modules/@modelcontextprotocol/inspector/package.json"
  node -p 'require(process.argv[1]).version' "$pkg" 2>/dev/null || true
}
if [ "$(inspector_version)" != "$INSPECTOR_VERSION" ]; then
  log "installing @modelcontextprotocol/inspector $INSPECTOR_VERSION into .tools/inspector (npm, once)"
  rm -rf "$INSPECTOR_DIR"
  mkdir -p "$INSPECTOR_DIR"
  npm install --prefix "$INSPECTOR_DIR" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
    "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
  [ "$(inspector_version)" = "$INSPECTOR_VERSION" ] ||
    die "@modelcontextprotocol/inspector $INSPECTOR_VERSION did not install"
fi
# Go programs are built from a module committed here into .tools/bin, again only
#    when its go.mod, go.sum or *.go change (a stamp keeps their sha256). -mod=readonly: go
#    verifies the modules against the committed go.sum and never edits it; once they are in
#    Go's module cache no network is needed.
#    go_tool NAME DIR [go build arguments...]
go_tool() {
  local name=$1 dir=$2
  shift 2
  local bin="$TOOLS_BIN/$name" stamp="$ROOT/.tools/$name.sha256" sources
  # shellcheck disable=SC2046 # one word per Go file
  sources=$(cd "$dir" && sha256sum go.mod go.sum $(compgen -G '*.go' || true))
  if [ ! -x "$bin" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sources" ]; then
    command -v go >/dev/null || die "Go is missing to build $name (${dir#"$ROOT"/})"
    log "building $name (go build, ${dir#"$ROOT"/})"
    mkdir -p "$TOOLS_BIN"
    (cd "$dir" && go build -mod=readonly -trimpath -buildvcs=false -o "$bin" "$@")
    printf '%s\n' "$sources" >"$stamp"
  fi
}
# 7. tlog-verify, the Go checker of checkpoints and proofs that test/audit/interop-go.test.ts runs.
go_tool tlog-verify "$ROOT/interop/tlog-verify" .
# 8. Regal, the Rego linter `mcp-warden test` (npm run policy:test) runs, at the version
# tools/regal/go.mod pins (a `tool` dependency); the version is linked in, for `regal version`.
REGAL="$TOOLS_BIN/regal"
regal_module=github.com/open-policy-agent/regal
regal_version=$(awk -v m="$regal_module" '$1 == m {print $2}' "$ROOT/tools/regal/go.mod")
go_tool regal "$ROOT/tools/regal" -ldflags "-X $regal_module/pkg/version.Version=$regal_version" "$regal_module"
# 9. Chromium from Debian's packages when absent, for the console's browser tests
#    (test/helpers/browser.ts drives /usr/bin/chromium, or $CHROMIUM_PATH, with
#    playwright-core). Debian's build, not a test tool's own download: the closed network
#    refuses those, and the distribution keeps it patched.
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && ! command -v chromium >/dev/null; then
  command -v apt-get >/dev/null || die "chromium is missing and apt-get is not there to install it"
  log "installing chromium (apt-get)"
  chromium_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }
  chromium_install || { DEBIAN_FRONTEND=noninteractive apt-get update && chromium_install; }
fi
redis_version=$(redis-server --version | sed -E 's/.* v=([^ ]+).*/\1/')
log "ready: node $(node -v), opa $(have_version "$OPA"), regal $(have_version "$REGAL"), redis-server $redis_version, inspector $INSPECTOR_VERSION"
