import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EVERYTHING_CATALOGUE, FIXTURE_BUNDLES, FIXTURE_POLICIES, OPA, POLICIES } from './helpers/paths.ts';

const ENTRYPOINTS = ['-e', 'mcp/authz/decision', '-e', 'mcp/session/grant'];

/**
 * Compiles, once per run, every fixture policy under test/fixtures/policies/ into a
 * bundle, and the default Rego with the example catalogue of server-everything (a
 * data.json in place of the default one) into `catalogue-everything.tar.gz`.
 */
export default function setup(): void {
  mkdirSync(FIXTURE_BUNDLES, { recursive: true });
  for (const name of readdirSync(FIXTURE_POLICIES)) {
    opaBuild(`fixture-${name}`, join(FIXTURE_BUNDLES, `${name}.tar.gz`), [join(FIXTURE_POLICIES, name)]);
  }
  // The default Rego with server-everything's catalogue (examples/server-everything).
  opaBuild('catalogue-everything', join(FIXTURE_BUNDLES, 'catalogue-everything.tar.gz'), [
    '--ignore',
    '*_test.rego',
    join(POLICIES, 'mcp'),
    EVERYTHING_CATALOGUE,
  ]);
}

function opaBuild(revision: string, output: string, sources: string[]): void {
  execFileSync(OPA, ['build', '-t', 'wasm', ...ENTRYPOINTS, '--revision', revision, '-o', output, ...sources], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
