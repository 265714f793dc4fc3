# Shared by the scripts: paths and the pinned tools. Source it; it changes nothing.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.sh
. "$ROOT/scripts/versions.sh"
TOOLS_BIN="$ROOT/.tools/bin"
# Node 24 from the `node` devDependency first, then the pinned CLIs.
export PATH="$ROOT/node_modules/.bin:$TOOLS_BIN:$PATH"
OPA="$TOOLS_BIN/opa"

# Plain text when the output is not a terminal (logs, CI): no raw colour codes. NO_COLOR is
# the convention vitest, node and biome honour too.
[ -t 1 ] && [ -t 2 ] || export NO_COLOR=1
if [ -z "${NO_COLOR:-}" ]; then
  log() { printf '\033[1m[mcp-warden]\033[0m %s\n' "$*" >&2; }
else
  log() { printf '[mcp-warden] %s\n' "$*" >&2; }
fi
die() { log "error: $*"; exit 1; }
