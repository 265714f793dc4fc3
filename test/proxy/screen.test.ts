import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { startStubUpstream, type StubHandler, type StubUpstream } from '../helpers/stub-upstream.ts';

// An upstream that answers outside the protocol (compromised, or confused by an SDK that
// keys answers by id): list filtering must fail closed, whatever it sends.
let upstream: StubUpstream;
let proxy: TestProxy;
let token: string;

const TOOLS = [{ name: 'echo' }, { name: 'get-env' }, { name: 'not-in-catalogue' }];

beforeAll(async () => {
  upstream = await startStubUpstream();
  proxy = await startTestProxy(upstream.url, { more: { upstreamProtocol: 'both' } });
  token = await proxy.token('rhea', 'mcp:read');
});
afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

async function session(): Promise<string> {
  upstream.handler = ({ body }, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'up-1' });
    res.end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: (body as { id: number }).id,
        result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } },
      }),
    );
  };
  const response = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  await response.text();
  return response.headers.get('mcp-session-id')!;
}

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const answering =
  (make: (id: unknown) => unknown, sse = false): StubHandler =>
  ({ body }, res) => {
    const message = make((body as { id: unknown }).id);
    if (sse) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(message));
    }
  };

describe('list filtering fails closed', () => {
  it('withholds a tool list answered to a call (an id that asked for something else), JSON or SSE', async () => {
    const id = await session();
    for (const sse of [false, true]) {
      upstream.handler = answering((requestId) => ({ jsonrpc: '2.0', id: requestId, result: { tools: TOOLS } }), sse);
      const response = await post(
        { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', arguments: {} } },
        { 'mcp-session-id': id },
      );
      const text = await response.text();
      expect(text, `sse=${sse}`).not.toContain('get-env');
    }
  });

  it('withholds a stray list answer to an id that is not pending', async () => {
    const id = await session();
    upstream.handler = answering(() => ({ jsonrpc: '2.0', id: 999, result: { tools: TOOLS } }), true);
    const response = await post(
      { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'echo', arguments: {} } },
      { 'mcp-session-id': id },
    );
    expect(await response.text()).not.toContain('get-env');
  });

  it('drops a list the method did not ask for, smuggled beside the one it did; marks the answer private', async () => {
    const id = await session();
    upstream.handler = answering((requestId) => ({
      jsonrpc: '2.0',
      id: requestId,
      result: { prompts: [{ name: 'simple-prompt' }], tools: TOOLS, ttlMs: 60_000, cacheScope: 'public' },
    }));
    const response = await post(
      { jsonrpc: '2.0', id: 7, method: 'prompts/list', params: {} },
      { 'mcp-session-id': id },
    );
    const body = (await response.json()) as { result: Record<string, unknown> };
    expect(body.result).toEqual({ prompts: [{ name: 'simple-prompt' }], ttlMs: 60_000, cacheScope: 'private' });
  });

  it('filters resources/templates/list by the policy', async () => {
    const id = await session();
    upstream.handler = answering((requestId) => ({
      jsonrpc: '2.0',
      id: requestId,
      result: {
        resourceTemplates: [
          { uriTemplate: 'demo://resource/dynamic/{id}', name: 'ok' },
          { uriTemplate: 'file:///etc/{name}', name: 'secret' },
        ],
      },
    }));
    const response = await post(
      { jsonrpc: '2.0', id: 8, method: 'resources/templates/list', params: {} },
      { 'mcp-session-id': id },
    );
    const body = (await response.json()) as { result: { resourceTemplates: { name: string }[] } };
    expect(body.result.resourceTemplates.map((t) => t.name)).not.toContain('secret');
  });
});
