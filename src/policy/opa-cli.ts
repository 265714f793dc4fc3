import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DECISION_ENTRYPOINT, GRANT_ENTRYPOINT } from './engine.ts';

/** The pinned opa of a source checkout (`.tools/bin/opa`), else `MCP_WARDEN_OPA`, else `opa` on PATH. */
export function opaBinary(): string {
  if (process.env.MCP_WARDEN_OPA) return process.env.MCP_WARDEN_OPA;
  const pinned = fileURLToPath(new URL('../../.tools/bin/opa', import.meta.url));
  return existsSync(pinned) ? pinned : 'opa';
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
