import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DECISION_ENTRYPOINT, GRANT_ENTRYPOINT } from './engine.ts';

/** The pinned opa of a source checkout (`.tools/bin/opa`), else `opa` on PATH; `MCP_WARDEN_OPA` overrides both. */
export function opaBinary(): string {
  return pinnedTool('opa', process.env.MCP_WARDEN_OPA);
}

/** The pinned Regal linter (`.tools/bin/regal`), else `regal` on PATH; `MCP_WARDEN_REGAL` overrides both. */
export function regalBinary(): string {
  return pinnedTool('regal', process.env.MCP_WARDEN_REGAL);
}

function pinnedTool(name: string, override: string | undefined): string {
  if (override) return override;
  const pinned = fileURLToPath(new URL(`../../.tools/bin/${name}`, import.meta.url));
  return existsSync(pinned) ? pinned : name;
}

/** The `opa build` arguments of a deployable WASM bundle of a policy folder (tests and examples left out). */
export function wasmBuildArgs(source: string, output: string, revision: string): string[] {
  return [
    'build',
    '-t',
    'wasm',
    '-e',
    DECISION_ENTRYPOINT,
    '-e',
    GRANT_ENTRYPOINT,
    '--ignore',
    '*_test.rego',
    '--ignore',
    'examples',
    '--ignore',
    '.*',
    '--revision',
    revision,
    '-o',
    output,
    source,
  ];
}
