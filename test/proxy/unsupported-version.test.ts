import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConformanceUpstream, type ConformanceUpstream } from '../helpers/conformance-upstream-v2.ts';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { INITIALIZE, startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { startStubUpstream, type StubUpstream } from '../helpers/stub-upstream.ts';

// A protocol version of neither era (the conformance suite's server-stateless sends
// `v999.0.0`) gets MCP 2026-07-28's UnsupportedProtocolVersion from the proxy, with the
// versions the client could use, as the upstream would answer it; it was refused as
// "the legacy era" (-32600, no supported versions) before.
let modern: ConformanceUpstream;
let tap: CountingTap;
let modernProxy: TestProxy;
let legacy: StubUpstream;
let legacyProxy: TestProxy;

beforeAll(async () => {
  modern = await startConformanceUpstream();
  tap = await startCountingTap(modern.url);
  modernProxy = await startTestProxy(tap.url);
  legacy = await startStubUpstream();
  legacyProxy = await startTestProxy(legacy.url, { more: { upstreamProtocol: 'legacy' } });
});
afterAll(async () => {
  await legacyProxy?.stop();
  await legacy?.stop();
  await modernProxy?.stop();
  await tap?.stop();
  await modern?.stop();
});

interface Answer {
  readonly status: number;
  readonly body: {
    error?: { code: number; data?: { supported?: string[]; requested?: string; reasons?: { code: string }[] } };
  };
}

async function post(proxy: TestProxy, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${await proxy.token('alice', 'mcp:read')}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const discover = (version: string) => ({
  jsonrpc: '2.0',
  id: 301,
  method: 'server/discover',
  params: {
    _meta: { 'io.modelcontextprotocol/protocolVersion': version, 'io.modelcontextprotocol/clientCapabilities': {} },
  },
});

describe('a protocol version of neither era', () => {
  it('is UnsupportedProtocolVersion with the modern versions the upstream lists; nothing forwarded', async () => {
    tap.reset();
    const answer = await post(modernProxy, discover('v999.0.0'), {
      'mcp-protocol-version': 'v999.0.0',
      'mcp-method': 'server/discover',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      code: -32022,
      data: { supported: ['2026-07-28'], requested: 'v999.0.0', reasons: [{ code: 'era_not_supported' }] },
    });
    expect(tap.requests()).toEqual([]);
  });

  it('stated only in _meta, is refused the same way', async () => {
    const answer = await post(modernProxy, discover('v999.0.0'), { 'mcp-method': 'server/discover' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: -32022, data: { requested: 'v999.0.0' } });
  });

  it('lists the legacy versions when the upstream speaks only the legacy era', async () => {
    legacy.seen.length = 0;
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const answer = await post(legacyProxy, list, { 'mcp-protocol-version': '2025-01-01', 'mcp-session-id': 'x' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: -32022, data: { requested: '2025-01-01' } });
    expect(answer.body.error?.data?.supported).toContain('2025-11-25');
    expect(legacy.seen).toEqual([]);
  });

  it('offered by initialize, is negotiated by the upstream, not refused', async () => {
    legacy.seen.length = 0;
    const offer = { ...INITIALIZE, params: { ...INITIALIZE.params, protocolVersion: '2024-01-01' } };
    const answer = await post(legacyProxy, offer, {});
    expect(answer.status).toBe(200);
    expect(legacy.seen.map((s) => (s.body as { method?: string } | undefined)?.method)).toEqual(['initialize']);
  });
});
