#!/usr/bin/env bash
# The code's own style, checked: Biome's formatter and linter (biome.json), and no line of
# TypeScript or JavaScript over 120 columns (the formatter wraps code, not strings or
# comments). `--fix` applies the formatter and the linter's safe fixes instead.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
if [ "${1:-}" = --fix ]; then
  biome check --write .
  exit 0
fi
biome ci --colors=off .
# Characters, not bytes (perl -CSD reads UTF-8): a line with an arrow is no longer than its columns.
long=$(git ls-files -z -- '*.ts' '*.js' '*.mjs' ':!bundles' |
  xargs -0 perl -CSD -ne 'print "$ARGV:$.: ", length($_) - 1, " columns\n" if length($_) - 1 > 120; close ARGV if eof')
if [ -n "$long" ]; then
  log "lines over 120 columns:"
  printf '%s\n' "$long" >&2
  exit 1
fi
