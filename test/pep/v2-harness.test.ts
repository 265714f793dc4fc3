import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { connectV2Client } from '../helpers/v2-client.ts';
import {
  startV2Server,
  V2_ENV_SECRET,
  V2_RESOURCE_URI,
  type ReceivedRequest,
  type V2Server,
} from '../helpers/v2-server.ts';

// The parts the proxy's modern-era tests stand on, checked without the proxy: what a v2 SDK
// client puts on the wire (through the counting tap) and what a v2 SDK server answers.

const MODERN = '2026-07-28';
const META = 'io.modelcontextprotocol/';
const ENVELOPE_KEYS = [`${META}protocolVersion`, `${META}clientInfo`, `${META}clientCapabilities`];
const ACCEPT = 'application/json, text/event-stream';

interface Rpc {
  jsonrpc: string;
  id?: string | number;
  method?: string;
  params?: { name?: string; uri?: string; _meta?: Record<string, unknown> };
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

const bodyOf = (request: ReceivedRequest) => request.body as Rpc;

/** One line per request: the headers the proxy routes on, and the body's method, id and `_meta` keys. */
function trace(requests: ReceivedRequest[]): string {
  const h = (request: ReceivedRequest, names: string[]) =>
    names.map((name) => `${name}=${String(request.headers[name] ?? '-')}`).join(' ');
  return requests
    .map((request) => {
      const body = bodyOf(request);
      const meta = Object.keys(body?.params?._meta ?? {}).map((key) => key.replace(META, ''));
      return [
        `${request.method} ${request.path} -> ${request.status} ${request.contentType ?? ''}`,
        `  ${h(request, ['mcp-protocol-version', 'mcp-method', 'mcp-name'])}`,
        `  ${h(request, ['mcp-session-id', 'accept', 'authorization'])}`,
        `  body: method=${body?.method} id=${JSON.stringify(body?.id)} _meta=[${meta.join(', ')}]`,
      ].join('\n');
    })
    .join('\n');
}

/** A raw POST, for what the SDK client never sends. The server needs only protocolVersion and clientCapabilities. */
async function post(url: string, body: Rpc, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, rpc: (await res.json()) as Rpc };
}

/** The first text content of a tool call's result. */
async function callText(client: Client, name: string, args: Record<string, unknown>): Promise<string | undefined> {
  const result = await client.callTool({ name, arguments: args });
  return (result as { content: Array<{ text?: string }> }).content[0]?.text;
}

const envelope = { [`${META}protocolVersion`]: MODERN, [`${META}clientCapabilities`]: {} };
const modernHeaders = (method: string, name?: string) => ({
  'mcp-protocol-version': MODERN,
  'mcp-method': method,
  ...(name === undefined ? {} : { 'mcp-name': name }),
});
const listTools: Rpc = { jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta: envelope } };

describe('the v2 SDK server and client (MCP 2026-07-28), without the proxy', () => {
  let server: V2Server;
  let tap: CountingTap;
  beforeAll(async () => {
    server = await startV2Server({ tickMs: 50 });
    tap = await startCountingTap(server.url);
  });
  afterAll(async () => {
    await tap?.stop();
    await server?.stop();
  });
  beforeEach(() => {
    tap.reset();
    server.reset();
  });

  it('the auto client negotiates 2026-07-28, lists the catalogue and calls echo', async () => {
    const v2 = await connectV2Client(tap.url, { token: 'tok-1' });
    try {
      expect(v2.protocolVersion).toBe(MODERN);
      expect(v2.era).toBe('modern');
      const { tools } = await v2.client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([
        'echo',
        'get-sum',
        'get-env',
        'long-stream',
        'simulate-research-query',
      ]);
      expect(await callText(v2.client, 'echo', { message: 'hi' })).toBe('Echo: hi');
      expect(await callText(v2.client, 'get-sum', { a: 2, b: 3 })).toBe('The sum of 2 and 3 is 5.');
      expect(await callText(v2.client, 'get-env', {})).toBe(V2_ENV_SECRET);
      expect(server.calls).toEqual(['echo', 'get-sum', 'get-env']);
    } finally {
      await v2.close();
    }
  });

  it('the wire: server/discover first, then one POST per request, Mcp-* headers, _meta envelope', async () => {
    const v2 = await connectV2Client(tap.url, { token: 'tok-1' });
    await v2.client.listTools();
    await v2.client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    await v2.client.getPrompt({ name: 'simple-prompt' });
    await v2.client.readResource({ uri: V2_RESOURCE_URI });
    await v2.close();

    // No initialize, no notifications/initialized, no GET stream, no DELETE on close.
    expect(tap.requests()).toEqual([
      { method: 'server/discover' },
      { method: 'tools/list' },
      { method: 'tools/call', name: 'echo' },
      { method: 'prompts/get' },
      { method: 'resources/read' },
    ]);
    expect(tap.http()).toEqual(Array.from({ length: 5 }, () => ({ method: 'POST', path: '/mcp' })));

    const received = server.received();
    console.log(`v2 client (versionNegotiation auto) -> v2 server, one session:\n${trace(received)}`);
    for (const request of received) {
      const body = bodyOf(request);
      expect(request.status).toBe(200);
      expect(request.headers['mcp-protocol-version']).toBe(MODERN);
      expect(request.headers['mcp-method']).toBe(body.method);
      expect(request.headers['mcp-session-id']).toBeUndefined();
      expect(request.headers.accept).toBe(ACCEPT);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers.authorization).toBe('Bearer tok-1');
      // The envelope rides in every request, the discover probe included.
      expect(Object.keys(body.params?._meta ?? {})).toEqual(ENVELOPE_KEYS);
      expect(body.params?._meta?.[`${META}protocolVersion`]).toBe(MODERN);
      expect(body.params?._meta?.[`${META}clientInfo`]).toEqual({ name: 'warden-v2-test-client', version: '1.0.0' });
    }
    // Mcp-Name carries params.name (tools, prompts) or params.uri (resources); absent otherwise.
    const names = received.map((request) => request.headers['mcp-name']);
    expect(names).toEqual([undefined, undefined, 'echo', 'simple-prompt', V2_RESOURCE_URI]);
    // The probe has its own string id; the session's requests count from 0.
    expect(received.map((request) => bodyOf(request).id)).toEqual(['server-discover-probe-1', 0, 1, 2, 3]);
    expect(received.map((request) => request.contentType)).toEqual(Array.from({ length: 5 }, () => 'application/json'));
  });

  it('server/discover answers the supported revisions, capabilities and serverInfo, without a session', async () => {
    const discover: Rpc = { jsonrpc: '2.0', id: 'd', method: 'server/discover', params: { _meta: envelope } };
    const { status, headers, rpc } = await post(server.url, discover, modernHeaders('server/discover'));
    expect(status).toBe(200);
    expect(headers.get('mcp-session-id')).toBeNull();
    expect(rpc).toEqual({
      jsonrpc: '2.0',
      id: 'd',
      result: {
        supportedVersions: [MODERN],
        capabilities: {
          tools: { listChanged: true },
          prompts: { listChanged: true },
          resources: { listChanged: true },
        },
        resultType: 'complete',
        ttlMs: 0,
        cacheScope: 'private',
        _meta: { [`${META}serverInfo`]: { name: 'warden-v2-test', version: '1.0.0' } },
      },
    });
  });

  it('a modern request needs the envelope and matching headers; an Mcp-Session-Id is ignored', async () => {
    // Modern header without the body envelope: -32602 at HTTP 400.
    const bare = await post(server.url, { ...listTools, params: {} }, modernHeaders('tools/list'));
    expect([bare.status, bare.rpc.error?.code]).toEqual([400, -32602]);
    // Envelope without the MCP-Protocol-Version header, or a header naming another method: -32020.
    const headerless = await post(server.url, listTools, {});
    expect([headerless.status, headerless.rpc.error?.code]).toEqual([400, -32020]);
    const mismatch = await post(server.url, listTools, modernHeaders('tools/call'));
    expect([mismatch.status, mismatch.rpc.error?.code]).toEqual([400, -32020]);
    const call: Rpc = { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'echo', _meta: envelope } };
    const unnamed = await post(server.url, call, modernHeaders('tools/call'));
    expect([unnamed.status, unnamed.rpc.error?.code]).toEqual([400, -32020]);
    const misnamed = await post(server.url, call, modernHeaders('tools/call', 'get-env'));
    expect([misnamed.status, misnamed.rpc.error?.code]).toEqual([400, -32020]);
    // An unknown revision: -32022 naming what the server supports.
    const future2099 = { ...listTools, params: { _meta: { ...envelope, [`${META}protocolVersion`]: '2099-01-01' } } };
    const future = await post(server.url, future2099, {
      ...modernHeaders('tools/list'),
      'mcp-protocol-version': '2099-01-01',
    });
    expect([future.status, future.rpc.error?.code]).toEqual([400, -32022]);
    // A session id is neither required nor checked, nor handed out.
    const sessionHeaders = { ...modernHeaders('tools/list'), 'mcp-session-id': 'not-a-session' };
    const withSession = await post(server.url, listTools, sessionHeaders);
    expect(withSession.status).toBe(200);
    expect(withSession.rpc.result?.tools).toHaveLength(5);
    expect(withSession.headers.get('mcp-session-id')).toBeNull();
    expect(server.calls).toEqual([]);
  });

  it('long-stream answers as SSE with progress and is aborted when the client abandons it', async () => {
    const v2 = await connectV2Client(tap.url);
    try {
      const progress: number[] = [];
      const onprogress = (p: { progress: number }) => void progress.push(p.progress);
      const streamed = await v2.client.callTool({ name: 'long-stream', arguments: { seconds: 0.15 } }, { onprogress });
      expect(streamed).toMatchObject({ content: [{ text: 'streamed 3 ticks' }] });
      expect(progress).toEqual([1, 2, 3]);
      expect(server.received().at(-1)?.contentType).toBe('text/event-stream');

      const abort = new AbortController();
      const call = v2.client.callTool(
        { name: 'long-stream', arguments: { seconds: 30 } },
        { signal: abort.signal, onprogress: () => abort.abort() },
      );
      await expect(call).rejects.toThrow(/abort/i);
      // The modern client sends no notifications/cancelled: it drops the response, and the server sees the close.
      await vi.waitFor(() => expect(server.longStream).toEqual({ started: 2, finished: 1, aborted: 1 }));
      expect(tap.requests().map((message) => message.method)).not.toContain('notifications/cancelled');
    } finally {
      await v2.close();
    }
  });

  it('speaks the legacy era too, unless it is modern-only', async () => {
    const legacy = await connectV2Client(tap.url, { mode: 'legacy' });
    expect([legacy.protocolVersion, legacy.era]).toEqual(['2025-11-25', 'legacy']);
    expect(await callText(legacy.client, 'echo', { message: 'old' })).toBe('Echo: old');
    await legacy.close();
    const methods = tap.requests().map((message) => message.method);
    expect(methods).toEqual(['initialize', 'notifications/initialized', 'tools/call']);
    // The stateless fallback hands out no session and refuses the GET stream.
    const exchanges = server.received().map(({ method, status, headers: h }) => [method, status, h['mcp-session-id']]);
    expect(exchanges).toEqual([
      ['POST', 200, undefined],
      ['POST', 202, undefined],
      ['GET', 405, undefined],
      ['POST', 200, undefined],
    ]);
    // Stateless means no handshake either: a claim-less request is answered as it comes (over SSE).
    const claimlessRes = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect([claimlessRes.status, claimlessRes.headers.get('content-type')]).toEqual([200, 'text/event-stream']);
    expect(await claimlessRes.text()).toContain('"name":"echo"');

    const strict = await startV2Server({ legacy: 'reject' });
    try {
      await expect(connectV2Client(strict.url, { mode: 'legacy' })).rejects.toThrow();
      const claimless = await post(strict.url, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, {});
      expect([claimless.status, claimless.rpc.error?.code]).toEqual([400, -32022]);
      const modern = await connectV2Client(strict.url);
      expect(modern.protocolVersion).toBe(MODERN);
      await modern.close();
    } finally {
      await strict.stop();
    }
  });
});
