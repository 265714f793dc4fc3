import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The pinned opa CLI installed by scripts/setup.sh. */
export const OPA = `${ROOT}.tools/bin/opa`;
export const FIXTURE_POLICIES = `${ROOT}test/fixtures/policies`;
export const FIXTURE_BUNDLES = `${ROOT}var/test-bundles`;

/** Path of the compiled fixture bundle `name` (see test/global-setup.ts). */
export function fixtureBundle(name: string): string {
  return `${FIXTURE_BUNDLES}/${name}.tar.gz`;
}

export const POLICIES = `${ROOT}policies`;
/** The default policy's catalogue for @modelcontextprotocol/server-everything (docs/mcp.md). */
export const EVERYTHING_CATALOGUE = `${ROOT}examples/server-everything`;
