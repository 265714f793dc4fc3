import { expect, it } from 'vitest';
import { ERAS, ownProxySetup, passed, regressions, runEra } from '../../scripts/conformance.ts';

// The MCP conformance suite's 2025-era scenarios against server-everything, directly and
// through the proxy (permit-all policy): the proxy may add no failure. `npm run conformance`
// prints the tables; test/e2e/conformance-modern.test.ts is the 2026-07-28 run.
const era = ERAS.find((e) => e.name === '2025')!;

it('adds no conformance failure through the proxy (2025 eras)', { timeout: 180_000 }, async () => {
  const own = await ownProxySetup();
  const { direct, proxied } = await runEra(era, {
    through: { command: own.command, urlFrom: /proxy listening on (http\S+)/, token: own.token },
  });
  expect(direct.scenarios.length).toBeGreaterThanOrEqual(31);
  expect(proxied!.scenarios.map((s) => s.name)).toEqual(direct.scenarios.map((s) => s.name));
  expect(regressions(direct, proxied!)).toEqual([]);
  // The scenarios that exercise the proxy's own surface pass through it.
  for (const name of [
    'server-initialize',
    'server-session-lifecycle',
    'tools-list',
    'tools-call-simple-text',
    'resources-list',
    'prompts-list',
    'dns-rebinding-protection',
  ]) {
    expect(passed(proxied!.scenarios.find((s) => s.name === name)), name).toBe(true);
  }
});
