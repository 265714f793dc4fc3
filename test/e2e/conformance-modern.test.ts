import { expect, it } from 'vitest';
import { ERAS, ownProxySetup, passed, regressions, runEra } from '../../scripts/conformance.ts';

// The MCP conformance suite's 2026-07-28 scenarios against a v2 SDK upstream serving the
// suite's fixtures (test/helpers/conformance-upstream-v2.ts), directly and through the
// proxy (permit-all policy): every scenario passes directly, and the proxy may add no failure.
const era = ERAS.find((e) => e.name === '2026-07-28')!;

/** The scenarios that exercise what the proxy itself does in this era. */
const PROXY_SURFACE = [
  // Per-request _meta, versions (-32022), removed methods, subscriptions/listen streams.
  'server-stateless',
  // Mcp-Method / Mcp-Name checked by the proxy; Mcp-Param-* forwarded for the upstream to check.
  'http-header-validation',
  'http-custom-header-server-validation',
  // The proxy's own origin and Host guard.
  'dns-rebinding-protection',
  // Lists screened by decision; their caching hints kept.
  'tools-list',
  'resources-list',
  'prompts-list',
  'caching',
  // Streams relayed as they come.
  'tools-call-with-progress',
  'server-sse-multiple-streams',
  // requestState sealed by the proxy on the way out and unsealed on the retry.
  'input-required-result-request-state',
  'input-required-result-multi-round',
  'input-required-result-tampered-state',
  'input-required-result-non-tool-request',
  // An upstream's error passed on unchanged.
  'sep-2164-resource-not-found',
];

it('adds no conformance failure through the proxy (2026-07-28)', { timeout: 180_000 }, async () => {
  const own = await ownProxySetup();
  const { direct, proxied } = await runEra(era, {
    through: { command: own.command, urlFrom: /proxy listening on (http\S+)/, token: own.token },
  });
  // The fixture upstream passes every scenario of the revision: a fixture regression shows here.
  expect(direct.scenarios.length).toBeGreaterThanOrEqual(40);
  expect(direct.scenarios.filter((s) => !passed(s))).toEqual([]);
  expect(proxied!.scenarios.map((s) => s.name)).toEqual(direct.scenarios.map((s) => s.name));
  expect(regressions(direct, proxied!)).toEqual([]);
  for (const name of PROXY_SURFACE) {
    expect(passed(proxied!.scenarios.find((s) => s.name === name)), name).toBe(true);
  }
});
