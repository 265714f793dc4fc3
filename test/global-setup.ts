import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_BUNDLES, FIXTURE_POLICIES, OPA } from './helpers/paths.ts';

/** Compiles every fixture policy under test/fixtures/policies/ into a bundle, once per run. */
export default function setup(): void {
  mkdirSync(FIXTURE_BUNDLES, { recursive: true });
  for (const name of readdirSync(FIXTURE_POLICIES)) {
    execFileSync(OPA, [
      'build', '-t', 'wasm',
      '-e', 'mcp/authz/decision', '-e', 'mcp/session/grant',
      '--revision', `fixture-${name}`,
      '-o', join(FIXTURE_BUNDLES, `${name}.tar.gz`),
      join(FIXTURE_POLICIES, name),
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}
