import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ownProxySetup,
  runSuite,
  runThroughProxy,
  startProxy,
  type ScenarioResult,
} from '../../scripts/conformance.ts';
import { startEverything, type Everything } from '../helpers/everything.ts';

// The MCP conformance suite against server-everything, directly and through the proxy
// (permit-all policy): the proxy may add no failure. `npm run conformance` prints the tables.
let everything: Everything;
beforeAll(async () => {
  everything = await startEverything();
});
afterAll(async () => {
  await everything?.stop();
});

const passed = (s: ScenarioResult | undefined) => s !== undefined && s.failedChecks === 0;

it('adds no conformance failure through the proxy', { timeout: 120_000 }, async () => {
  const direct = await runSuite('direct', everything.url);
  const own = await ownProxySetup();
  const proxy = await startProxy(own.command, everything.url, /proxy listening on (http\S+)/);
  let proxied: Awaited<ReturnType<typeof runThroughProxy>>;
  try {
    proxied = await runThroughProxy(proxy.url, { token: own.token });
  } finally {
    await proxy.stop();
  }
  expect(direct.scenarios.length).toBeGreaterThanOrEqual(30);
  expect(proxied.scenarios.map((s) => s.name)).toEqual(direct.scenarios.map((s) => s.name));
  const regressions = direct.scenarios.filter(
    (s) => passed(s) && !passed(proxied.scenarios.find((p) => p.name === s.name)),
  );
  expect(regressions).toEqual([]);
  // The scenarios that exercise the proxy's own surface pass through it.
  for (const name of [
    'server-initialize',
    'tools-list',
    'tools-call-simple-text',
    'resources-list',
    'prompts-list',
    'dns-rebinding-protection',
  ]) {
    expect(passed(proxied.scenarios.find((s) => s.name === name)), name).toBe(true);
  }
});
