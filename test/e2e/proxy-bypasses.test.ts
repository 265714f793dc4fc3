import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revokeSessions } from '../../src/decision/sessions.ts';
import { startCountingTap, startEverything, type CountingTap, type Everything } from '../helpers/everything.ts';
import { fixtureBundle } from '../helpers/paths.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { connectV2Client } from '../helpers/v2-client.ts';

// Attacks on the boundary, each tried with a valid token through the real proxy in
// front of the real server-everything (which speaks the legacy era only), behind a
// counting tap that shows what reached it. docs/security.md lists them.
let everything: Everything;
let tap: CountingTap;
let proxy: TestProxy;

beforeAll(async () => {
  everything = await startEverything();
  tap = await startCountingTap(everything.url);
  proxy = await startTestProxy(tap.url);
});
afterAll(async () => {
  await proxy?.stop();
  await tap?.stop();
  await everything?.stop();
});
beforeEach(() => tap.reset());

const ADMIN = { id: 'ops', role: 'admin' } as const;
const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';

async function connect(target: TestProxy, token: string): Promise<{ client: Client; sessionId: string }> {
  const transport = new StreamableHTTPClientTransport(new URL(target.url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'attacker', version: '1.0.0' });
  await client.connect(transport);
  return { client, sessionId: transport.sessionId! };
}

interface RpcAnswer {
  readonly status: number;
  readonly body: {
    id?: unknown;
    result?: Record<string, unknown>;
    error?: {
      code: number;
      message: string;
      data?: { reasons?: { code: string }[]; supported?: string[]; requested?: string };
    };
  } & unknown[];
}

async function post(
  target: TestProxy,
  token: string,
  body: string | unknown,
  headers: Record<string, string> = {},
): Promise<RpcAnswer> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  const json =
    text.startsWith('event:') || text.startsWith('data:') || text.startsWith('id:')
      ? sseMessages(text)
      : text === ''
        ? null
        : JSON.parse(text);
  return { status: response.status, body: json };
}

function sseMessages(text: string): unknown {
  const messages = text
    .split('\n')
    .filter((l) => l.startsWith('data:') && l.slice(5).trim() !== '')
    .map((l) => JSON.parse(l.slice(5)));
  return messages.length === 1 ? messages[0] : messages;
}

const codes = (answer: RpcAnswer) => (answer.body.error?.data?.reasons ?? []).map((r) => r.code);
const forwarded = (method: string) => tap.requests().filter((m) => m.method === method).length;

const modernCall = (name: string, args: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: {
    name,
    arguments: args,
    _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
  },
});
const modernHeaders = (name: string) => ({
  'mcp-protocol-version': MODERN,
  'mcp-method': 'tools/call',
  'mcp-name': name,
});

describe('the era cannot be chosen to escape state', () => {
  it('a revoked legacy session cannot go on in the 2026-07-28 era the upstream lacks; nothing forwarded', async () => {
    const token = await proxy.token('eve', 'mcp:read');
    const { client } = await connect(proxy, token);
    await client.callTool({ name: 'echo', arguments: { message: 'legit' } });
    await revokeSessions(proxy.core.deps, { sub: 'eve' }, ADMIN);
    tap.reset();
    const escaped = await post(proxy, token, modernCall('echo', { message: 'escape' }), modernHeaders('echo'));
    expect(escaped.status).toBe(400);
    expect(codes(escaped)).toEqual(['era_not_supported']);
    expect(tap.requests()).toEqual([]);
    await client.close().catch(() => undefined);
  });

  it('the probe found the legacy era only (server-everything has no server/discover)', async () => {
    const discover = await post(
      proxy,
      await proxy.token('eve2', 'mcp:read'),
      {
        ...modernCall('x', {}),
        method: 'server/discover',
        params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } },
      },
      { 'mcp-protocol-version': MODERN, 'mcp-method': 'server/discover' },
    );
    expect(codes(discover)).toEqual(['era_not_supported']);
    // MCP 2026-07-28's UnsupportedProtocolVersion, with the versions that would work.
    expect(discover.body.error).toMatchObject({ code: -32022, data: { requested: MODERN } });
    expect(discover.body.error?.data?.supported).toContain('2025-11-25');
    expect(discover.body.error?.data?.supported?.every((v) => v < MODERN)).toBe(true);
    expect(tap.requests()).toEqual([]);
  });

  it('a 2026-07-28 client negotiating automatically falls back to the legacy era, and is still decided', async () => {
    const v2 = await connectV2Client(proxy.url, { token: await proxy.token('vera', 'mcp:read'), mode: 'auto' });
    const tools = await v2.client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('echo');
    expect(tap.requests().some((r) => r.method === 'initialize')).toBe(true);
    expect(tap.requests().some((r) => r.method === 'server/discover')).toBe(false);
    await v2.close();
  });
});

describe('JSON-RPC cannot confuse the filter or the decision', () => {
  it('refuses a batch with a repeated id (a reader would get the unfiltered tool list), forwards nothing', async () => {
    const token = await proxy.token('rita', 'mcp:read');
    const { client, sessionId } = await connect(proxy, token);
    tap.reset();
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      { jsonrpc: '2.0', id: 1, method: 'prompts/list', params: {} },
    ];
    const answer = await post(proxy, token, batch, {
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-03-26',
    });
    expect(answer.status).toBe(400);
    expect(codes(answer)).toEqual(['duplicate_id']);
    expect(tap.requests()).toEqual([]);
    // `1` and `"1"` are one id to some SDKs: refused too.
    const mixed = await post(proxy, token, [batch[0], { ...batch[1], id: '1' }], {
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-03-26',
    });
    expect(codes(mixed)).toEqual(['duplicate_id']);
    expect(tap.requests()).toEqual([]);
    await client.close();
  });

  it('refuses a request whose id is still pending on the session', async () => {
    const token = await proxy.token('paul', 'mcp:read');
    const { client, sessionId } = await connect(proxy, token);
    tap.reset();
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY };
    const slow = post(
      proxy,
      token,
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } },
      },
      headers,
    );
    await expect.poll(() => tap.counts()['tools/call:trigger-long-running-operation'] ?? 0).toBe(1);
    const second = await post(proxy, token, { jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }, headers);
    expect(second.status).toBe(400);
    expect(codes(second)).toEqual(['duplicate_id']);
    expect(forwarded('tools/list')).toBe(0);
    expect((await slow).status).toBe(200);
    // Once answered, the id is free again.
    const again = await post(proxy, token, { jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }, headers);
    expect(again.status).toBe(200);
    await client.close();
  });

  it('refuses duplicate or folding keys another parser could read as another call; nothing forwarded', async () => {
    const token = await proxy.token('dora', 'mcp:read');
    const { client, sessionId } = await connect(proxy, token);
    tap.reset();
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY };
    const bodies = [
      // Decided as echo (the last key wins in JSON.parse); a first-key-wins parser runs get-env.
      '{"jsonrpc":"2.0","id":1,"method":"tools/call",' +
        '"params":{"name":"get-env","name":"echo","arguments":{"message":"x"}}}',
      '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","\\u006eame":"get-env","arguments":{}}}',
      '{"jsonrpc":"2.0","id":3,"method":"tools/call",' +
        '"params":{"name":"echo","Name":"get-env","arguments":{"message":"x"}}}',
      '{"jsonrpc":"2.0","id":4,"method":"tools/call",' +
        '"Method":"tools/list","params":{"name":"echo","arguments":{"message":"x"}}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call",' +
        '"params":{"name":"echo","arguments":{"message":"x"},"ａｒｇｕｍｅｎｔｓ":{}}}',
      '{"jsonrpc":"2.0","id":6,"method":"tools/call",' +
        '"params":{"name":"echo","name\\u0000":"get-env","arguments":{"message":"x"}}}',
    ];
    for (const body of bodies) {
      const answer = await post(proxy, token, body, headers);
      expect(answer.status, body).toBe(400);
      expect(codes(answer), body).toEqual(['ambiguous_message']);
    }
    expect(tap.requests()).toEqual([]);
    await client.close();
  });
});

describe('obligations fail closed', () => {
  let obliged: TestProxy;
  beforeAll(async () => {
    obliged = await startTestProxy(tap.url, { bundle: fixtureBundle('obligation') });
  });
  afterAll(async () => obliged?.stop());

  it('an allow with an approval obligation the proxy does not carry out is a deny, never forwarded', async () => {
    const { client } = await connect(obliged, await obliged.token('otto', 'mcp:read'));
    tap.reset();
    const err = await client.callTool({ name: 'echo', arguments: { message: 'unapproved' } }).then(
      () => expect.unreachable('the obligation was ignored'),
      (e: { code: number; data: { reasons: { code: string }[] } }) => e,
    );
    expect(err.code).toBe(-32003);
    expect(err.data.reasons.map((r) => r.code)).toEqual(['obligation_unsupported']);
    expect(tap.counts()['tools/call:echo']).toBeUndefined();
    // A call without the obligation goes through.
    await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    expect(tap.counts()['tools/call:get-sum']).toBe(1);
    await client.close();
  });
});

describe('streams end with their authority', () => {
  /** A legacy session opened by hand: the SDK client would hold the session's one GET stream itself. */
  async function rawSession(token: string): Promise<string> {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    };
    const init = await fetch(proxy.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    await init.text();
    const sessionId = init.headers.get('mcp-session-id')!;
    const initialized = await fetch(proxy.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(initialized.status).toBe(202);
    return sessionId;
  }

  async function openStream(token: string, sessionId: string): Promise<{ ended: Promise<number>; status: number }> {
    const response = await fetch(proxy.url, {
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': LEGACY,
      },
    });
    const reader = response.body!.getReader();
    const ended = (async () => {
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true }));
        if (chunk.done) return performance.now();
      }
    })();
    return { ended, status: response.status };
  }

  it('a GET stream is cut when its subject is revoked (time printed, not asserted)', async () => {
    const token = await proxy.token('sam', 'mcp:read');
    const sessionId = await rawSession(token);
    const stream = await openStream(token, sessionId);
    expect(stream.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    const revokedAt = performance.now();
    await revokeSessions(proxy.core.deps, { sub: 'sam' }, ADMIN);
    const closedAt = await stream.ended;
    console.log(
      `stream closed ${(closedAt - revokedAt).toFixed(0)} ms after ` +
        'the subject was revoked (one process, check every 100 ms)',
    );
    expect(closedAt).toBeGreaterThan(revokedAt);
  });

  it('a GET stream is cut when its session expires', async () => {
    const token = await proxy.token('exp', 'mcp:read');
    const sessionId = await rawSession(token);
    const stream = await openStream(token, sessionId);
    expect(stream.status).toBe(200);
    proxy.core.clock.advance(901_000); // past a reader's idle expiry
    expect(await stream.ended).toBeGreaterThan(0);
  });

  it('a GET stream is cut when the token that opened it expires', async () => {
    const token = await proxy.core.idp.mint(
      { scope: 'mcp:read', roles: [] },
      { subject: 'tim', audience: 'https://mcp.example.com/everything', expiresIn: 600 },
    );
    const sessionId = await rawSession(token);
    const stream = await openStream(token, sessionId);
    expect(stream.status).toBe(200);
    proxy.core.clock.advance(700_000);
    expect(await stream.ended).toBeGreaterThan(0);
  });
});
