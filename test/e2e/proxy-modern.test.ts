import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revokePrincipal } from '../../src/decision/revocations.ts';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { fixtureBundle } from '../helpers/paths.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { connectV2Client } from '../helpers/v2-client.ts';
import { startV2Server, V2_ENV_SECRET, type V2Server } from '../helpers/v2-server.ts';

// MCP 2026-07-28 through the real proxy: an upstream built with the MCP TypeScript SDK v2
// behind a counting tap, the SDK v2 client in versionNegotiation auto mode.
const MODERN = '2026-07-28';
const ADMIN = { id: 'ops', role: 'admin' } as const;
const META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

let v2: V2Server;
let tap: CountingTap;
let proxy: TestProxy;

beforeAll(async () => {
  v2 = await startV2Server();
  tap = await startCountingTap(v2.url);
  proxy = await startTestProxy(tap.url);
});
afterAll(async () => {
  await proxy?.stop();
  await tap?.stop();
  await v2?.stop();
});
beforeEach(() => tap.reset());

interface Answer {
  readonly status: number;
  readonly body: {
    error?: { code: number; message: string; data?: { reasons?: { code: string }[] } };
    result?: unknown;
  };
}

async function post(target: TestProxy, token: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': MODERN,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

const codes = (answer: Answer) => (answer.body.error?.data?.reasons ?? []).map((r) => r.code);
const echo = (meta: Record<string, unknown> | undefined) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'echo', arguments: { message: 'hi' }, ...(meta === undefined ? {} : { _meta: meta }) },
});

describe('proxy in front of an SDK v2 server (MCP 2026-07-28)', () => {
  it('v2 auto-mode client negotiates 2026-07-28 via the proxy: filtered list, allowed and refused calls', async () => {
    const v2client = await connectV2Client(proxy.url, { token: await proxy.token('alice', 'mcp:read'), mode: 'auto' });
    expect(v2client.protocolVersion).toBe(MODERN);
    expect(v2client.era).toBe('modern');
    expect(tap.counts()['server/discover']).toBeGreaterThanOrEqual(1);
    expect(tap.counts().initialize).toBeUndefined();
    const names = (await v2client.client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toContain('echo');
    expect(names).not.toContain('get-env');
    expect(names).not.toContain('long-stream'); // not in the policy's catalogue: hidden
    const result = await v2client.client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    expect(JSON.stringify(result.content)).toContain('hello');
    const refused = await v2client.client.callTool({ name: 'get-env', arguments: {} }).then(
      (r) => ({ leaked: JSON.stringify(r) }),
      (err: { code?: number }) => ({ code: err.code }),
    );
    expect(refused).not.toHaveProperty('leaked');
    expect(JSON.stringify(refused)).not.toContain(V2_ENV_SECRET);
    expect(tap.counts()['tools/call:get-env']).toBeUndefined();
    expect(tap.counts()['tools/call:echo']).toBe(1);
    // The _meta clientInfo and clientCapabilities of each request are in its decision record.
    const call = proxy.core.audit.saved.find((r) => r.kind === 'decision' && r.tool === 'echo');
    expect(call?.input?.client).toMatchObject({ name: 'warden-v2-test-client', version: '1.0.0' });
    expect(call?.input?.client).toHaveProperty('capabilities', expect.any(Array));
    await v2client.close();
  });

  it('refuses a request without _meta protocolVersion (-32602), before deciding or forwarding', async () => {
    const answer = await post(proxy, await proxy.token('mia', 'mcp:read'), echo(undefined), {
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe(-32602);
    expect(tap.requests()).toEqual([]);
  });

  it('refuses a modern request that carries Mcp-Session-Id, never forwarded', async () => {
    const token = await proxy.token('sid', 'mcp:read');
    const answer = await post(proxy, token, echo(META), {
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
      'mcp-session-id': 'mws_anything',
    });
    expect(answer.status).toBe(400);
    expect(codes(answer)).toEqual(['invalid_request']);
    expect(tap.requests()).toEqual([]);
  });

  it('a revoked subject is refused in the 2026-07-28 era (no session) before policy; upstream untouched', async () => {
    const token = await proxy.token('rex', 'mcp:read');
    const before = await post(proxy, token, echo(META), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
    expect(before.status).toBe(200);
    await revokePrincipal(proxy.core.deps, { subject: 'rex' }, ADMIN);
    tap.reset();
    const after = await post(proxy, token, echo(META), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
    expect(after.status).toBe(401);
    expect(codes(after)).toEqual(['principal_revoked']);
    expect(tap.requests()).toEqual([]);
  });
});

describe('proxy in front of a modern-only v2 server', () => {
  let modernOnly: V2Server;
  let modernTap: CountingTap;
  let modernProxy: TestProxy;
  beforeAll(async () => {
    modernOnly = await startV2Server({ legacy: 'reject' });
    modernTap = await startCountingTap(modernOnly.url);
    modernProxy = await startTestProxy(modernTap.url);
    modernTap.reset();
  });
  afterAll(async () => {
    await modernProxy?.stop();
    await modernTap?.stop();
    await modernOnly?.stop();
  });

  it('refuses a legacy initialize (era_not_supported): no session is minted, nothing forwarded', async () => {
    const response = await fetch(modernProxy.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${await modernProxy.token('leo', 'mcp:read')}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'old', version: '1' } },
      }),
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('era_not_supported');
    expect(response.headers.get('mcp-session-id')).toBeNull();
    expect(modernTap.requests()).toEqual([]);
    expect(modernProxy.core.audit.saved.filter((r) => r.kind === 'session.created')).toEqual([]);
  });
});

describe('a long POST answer (SSE) ends with its authority', () => {
  let open: TestProxy;
  beforeAll(async () => {
    open = await startTestProxy(tap.url, { bundle: fixtureBundle('permit-all') });
  });
  afterAll(async () => open?.stop());

  it('is cut when its subject is revoked; the time is printed, not asserted', async () => {
    const token = await open.token('lena', 'mcp:read');
    const body = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'long-stream', arguments: { seconds: 30 }, _meta: { ...META, progressToken: 'p1' } },
    };
    const response = await fetch(open.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/call',
        'mcp-name': 'long-stream',
      },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const revokedAt = performance.now();
    await revokePrincipal(open.core.deps, { subject: 'lena' }, ADMIN);
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) break;
    const closedAt = performance.now();
    console.log(
      `long POST stream closed ${(closedAt - revokedAt).toFixed(0)} ms ` +
        'after the subject was revoked (one process, check every 100 ms)',
    );
    await expect.poll(() => v2.longStream.aborted).toBeGreaterThanOrEqual(1);
    expect(v2.longStream.finished).toBe(0);
  });
});
