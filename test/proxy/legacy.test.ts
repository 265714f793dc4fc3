import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { echoHandler, startStubUpstream, type StubUpstream } from '../helpers/stub-upstream.ts';

let upstream: StubUpstream;
let proxy: TestProxy;
let token: string;

beforeAll(async () => {
  upstream = await startStubUpstream();
  proxy = await startTestProxy(upstream.url, {
    upstream: { headers: { authorization: 'Bearer upstream-credential' } },
    more: { upstreamProtocol: 'both' },
  });
  token = await proxy.token('alice', 'mcp:read');
});
afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});
beforeEach(() => {
  upstream.seen.length = 0;
  upstream.handler = echoHandler;
});

const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function initialize(): Promise<string> {
  const response = await post(INIT);
  expect(response.status).toBe(200);
  await response.text();
  return response.headers.get('mcp-session-id')!;
}

describe('proxy, legacy era, against a stub upstream', () => {
  it('never forwards the client token; the configured upstream credential goes instead', async () => {
    const session = await initialize();
    await (
      await post(
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
        { 'mcp-session-id': session },
      )
    ).text();
    expect(upstream.seen).toHaveLength(2);
    for (const seen of upstream.seen) expect(seen.headers.authorization).toBe('Bearer upstream-credential');
    // The upstream's own session id goes upstream; the client only ever sees the warden's.
    expect(upstream.seen[1]!.headers['mcp-session-id']).toBe('upstream-session-1');
    expect(session).toMatch(/^mws_/);
  });

  it('forwards only the allowed messages of a batch and answers the denied ones itself', async () => {
    const session = await initialize();
    upstream.seen.length = 0;
    const response = await post(
      [
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'not-in-catalogue', arguments: {} } },
        { jsonrpc: '2.0', method: 'notifications/progress', params: {} },
        { jsonrpc: '2.0', id: 3, method: 'sampling/createMessage', params: {} },
      ],
      { 'mcp-session-id': session },
    );
    expect(response.status).toBe(200);
    const answers = (await response.json()) as {
      id: number;
      result?: unknown;
      error?: { code: number; data: { reasons: { code: string }[] } };
    }[];
    expect(upstream.seen).toHaveLength(1);
    expect((upstream.seen[0]!.body as { method: string }[]).map((m) => m.method)).toEqual([
      'tools/call',
      'notifications/progress',
    ]);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(1)!.result).toEqual({ echo: 'tools/call' });
    expect(byId.get(2)!.error!.code).toBe(-32003);
    expect(byId.get(2)!.error!.data.reasons.map((r) => r.code)).toContain('tool_unknown');
    expect(byId.get(3)!.error!.data.reasons.map((r) => r.code)).toEqual(['method_not_permitted']);
  });

  it('answers 404 for a well-formed session id it never issued, and 400 without one', async () => {
    const unknown = `mws_${'A'.repeat(43)}`;
    const response = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': unknown });
    expect(response.status).toBe(404);
    expect(
      ((await response.json()) as { error: { data: { reasons: { code: string }[] } } }).error.data.reasons[0]!.code,
    ).toBe('session_unknown');
    const missing = await post({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(missing.status).toBe(400);
    expect(upstream.seen).toEqual([]);
  });

  it('revokes the warden session when the upstream refuses to initialize', async () => {
    upstream.handler = (_seen, res) => void res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
    const response = await post(INIT);
    expect(response.status).toBe(500);
    const created = proxy.core.audit.saved.filter((r) => r.kind === 'session.created').at(-1)!;
    const revoked = proxy.core.audit.saved.filter((r) => r.kind === 'session.revoked').at(-1)!;
    expect(revoked.session).toBe(created.session);
  });

  it('answers 502 when the upstream is unreachable, after deciding (and auditing)', async () => {
    const session = await initialize();
    const before = proxy.core.audit.saved.length;
    upstream.handler = (_seen, res) => res.socket?.destroy();
    const response = await post(
      { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: {} } },
      { 'mcp-session-id': session },
    );
    expect(response.status).toBe(502);
    expect((await response.json()) as { id: number; error: { code: number } }).toMatchObject({
      id: 5,
      error: { code: -32004 },
    });
    expect(proxy.core.audit.saved.slice(before).filter((r) => r.kind === 'decision' && r.allow === true)).toHaveLength(
      1,
    );
  });

  it('filters a tools/list answered as an SSE stream, event by event', async () => {
    const session = await initialize();
    upstream.handler = ({ body }, res) => {
      const { id } = body as { id: number };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive\n\n');
      const log = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } };
      res.write(`event: message\ndata: ${JSON.stringify(log)}\n\n`);
      const tools = ['echo', 'get-env', 'not-in-catalogue', 'get-sum'].map((name) => ({
        name,
        inputSchema: { type: 'object' },
      }));
      res.end(`id: e1\nevent: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { tools } })}\n\n`);
    };
    const response = await post({ jsonrpc: '2.0', id: 9, method: 'tools/list' }, { 'mcp-session-id': session });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    const events = text.split('\n\n').filter((e) => e.includes('data: '));
    expect(events).toHaveLength(2);
    const last = JSON.parse(events[1]!.split('data: ')[1]!) as { result: { tools: { name: string }[] } };
    expect(last.result.tools.map((t) => t.name)).toEqual(['echo', 'get-sum']);
    expect(events[1]).toContain('id: e1');
    expect(text).toMatch(/^: ?keep-alive$/m);
  });

  it('relays an SSE stream without buffering: an event arrives before the upstream has finished', async () => {
    const session = await initialize();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    upstream.handler = ({ body }, res) => {
      const { id } = body as { id: number };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } };
      res.write(`event: message\ndata: ${JSON.stringify(progress)}\n\n`);
      void released.then(() =>
        res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } })}\n\n`),
      );
    };
    const response = await post(
      { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'echo', arguments: {} } },
      { 'mcp-session-id': session },
    );
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('notifications/progress');
    release(); // only now does the upstream send its final event
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain('"id":11');
  });

  it('decides a client response to a server request, and revokes on DELETE before closing upstream', async () => {
    const session = await initialize();
    upstream.seen.length = 0;
    upstream.handler = (_seen, res) => void res.writeHead(202).end();
    const answer = await post({ jsonrpc: '2.0', id: 'srv-1', result: { content: [] } }, { 'mcp-session-id': session });
    expect(answer.status).toBe(202);
    expect(proxy.core.audit.saved.at(-1)).toMatchObject({
      kind: 'decision',
      method: 'transport/response',
      allow: true,
    });
    upstream.handler = (_seen, res) => void res.writeHead(200).end();
    const deleted = await fetch(proxy.url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'mcp-session-id': session },
    });
    expect(deleted.status).toBe(200);
    expect(upstream.seen.map((s) => s.method)).toEqual(['POST', 'DELETE']);
    const after = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session });
    expect(after.status).toBe(404);
  });

  it('refuses a DELETE by another principal: only the owner ends a session', async () => {
    const session = await initialize();
    const other = await proxy.token('mallory', 'mcp:read');
    const response = await fetch(proxy.url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${other}`, 'mcp-session-id': session },
    });
    expect(response.status).toBe(403);
    const ping = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session });
    expect(ping.status).toBe(200);
  });

  it('answers a body that is not JSON-RPC with 400 and a JSON-RPC error, and a non-JSON body with 415', async () => {
    const parse = await post('{"jsonrpc":');
    expect(parse.status).toBe(400);
    expect(((await parse.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const invalid = await post({ jsonrpc: '1.0', id: 1, method: 'ping' });
    expect(((await invalid.json()) as { error: { code: number } }).error.code).toBe(-32600);
    const media = await post('x', { 'content-type': 'text/plain' });
    expect(media.status).toBe(415);
    expect(upstream.seen).toEqual([]);
  });

  it('refuses foreign origins and non-loopback hosts (DNS rebinding), allows loopback origins', async () => {
    const evil = await post(INIT, { origin: 'http://evil.example.com' });
    expect(evil.status).toBe(403);
    const local = await post(INIT, { origin: 'http://localhost:6274' });
    expect(local.status).toBe(200);
    await local.text();
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(proxy.url);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { host: 'evil.example.com', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(INIT));
    });
    expect(status).toBe(403);
  });
});
