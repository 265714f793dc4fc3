import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { createSession } from '../../src/decision/sessions.ts';
import { bindState } from '../../src/decision/bound-state.ts';
import { PROXY_CALLER } from '../../src/cli/proxy.ts';
import { RESOURCE, startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { echoHandler, startStubUpstream, type StubUpstream } from '../helpers/stub-upstream.ts';

// MCP 2026-07-28: no protocol sessions; Mcp-Method / Mcp-Name mirror the body.
let upstream: StubUpstream;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startStubUpstream();
  // The default policy: search_docs carries a state handle in its `state` argument.
  proxy = await startTestProxy(upstream.url, { bundle: DEFAULT_BUNDLE, more: { upstreamProtocol: 'both' } });
});
afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});
beforeEach(() => {
  upstream.seen.length = 0;
  upstream.handler = echoHandler;
});

const VERSION = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

function call(name: string, args: Record<string, unknown>, id = 1) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: META } };
}

async function post(token: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': VERSION,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const reader = () =>
  proxy.core.idp.mint({ roles: ['reader'] }, { subject: 'alice', audience: RESOURCE, expiresIn: 3600 });

describe('proxy, MCP 2026-07-28', () => {
  it('forwards a request whose headers match its body, without any session', async () => {
    const response = await post(await reader(), call('fs_read', { path: '/srv/data/a.txt' }), {
      'mcp-method': 'tools/call',
      'mcp-name': 'fs_read',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 1, result: { echo: 'tools/call' } });
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.headers['mcp-method']).toBe('tools/call');
    expect(upstream.seen[0]!.headers['mcp-session-id']).toBeUndefined();
    expect(response.headers.get('mcp-session-id')).toBeNull();
  });

  it('refuses a header that disagrees with the body (HeaderMismatch), before deciding or forwarding', async () => {
    const before = proxy.core.audit.saved.length;
    const token = await reader();
    const cases: [Record<string, string>, string][] = [
      [{ 'mcp-method': 'tools/list', 'mcp-name': 'fs_read' }, 'Mcp-Method'],
      [{ 'mcp-method': 'tools/call', 'mcp-name': 'fs_list' }, 'Mcp-Name'],
      [{ 'mcp-method': 'tools/call' }, 'Mcp-Name header is missing'],
      [{ 'mcp-name': 'fs_read' }, 'Mcp-Method header is missing'],
      [{ 'mcp-method': 'tools/call', 'mcp-name': '=?base64?not base64?=' }, 'malformed'],
    ];
    for (const [headers, problem] of cases) {
      const response = await post(token, call('fs_read', { path: '/srv/data/a.txt' }), headers);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { id: number; error: { code: number; message: string } };
      expect(body.error.code).toBe(-32020);
      expect(body.error.message).toContain(problem);
    }
    const wrongMeta = { ...call('fs_read', { path: '/srv/data/a.txt' }) };
    wrongMeta.params = {
      ...wrongMeta.params,
      _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2026-09-01' },
    };
    const meta = await post(token, wrongMeta, { 'mcp-method': 'tools/call', 'mcp-name': 'fs_read' });
    expect(((await meta.json()) as { error: { code: number } }).error.code).toBe(-32020);
    expect(upstream.seen).toEqual([]);
    expect(proxy.core.audit.saved.length).toBe(before);
  });

  it("checks a tasks/* request's Mcp-Name against its taskId, and refuses another principal's task", async () => {
    const token = await reader();
    await bindState(proxy.core.deps, { token, server: RESOURCE, kind: 'task', value: 'task-1' }, PROXY_CALLER);
    const get = (taskId: string) => ({ jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { taskId, _meta: META } });
    const owner = await post(token, get('task-1'), { 'mcp-method': 'tasks/get', 'mcp-name': 'task-1' });
    expect(await owner.json()).toMatchObject({ id: 4, result: { echo: 'tasks/get' } });
    const mismatch = await post(token, get('task-1'), { 'mcp-method': 'tasks/get', 'mcp-name': 'task-2' });
    expect(((await mismatch.json()) as { error: { code: number } }).error.code).toBe(-32020);
    const bob = await proxy.core.idp.mint(
      { roles: ['reader'] },
      { subject: 'bob', audience: RESOURCE, expiresIn: 3600 },
    );
    const replay = await post(bob, get('task-1'), { 'mcp-method': 'tasks/get', 'mcp-name': 'task-1' });
    expect(await replay.json()).toMatchObject({
      id: 4,
      error: { code: -32003, data: { reasons: [{ code: 'task_owner_mismatch' }] } },
    });
    expect(upstream.seen.map((r) => r.body)).toEqual([expect.objectContaining({ method: 'tasks/get' })]);
  });

  it('does not forward Last-Event-ID in this era (no stream resumption)', async () => {
    const response = await post(await reader(), call('fs_read', { path: '/srv/data/a.txt' }), {
      'mcp-method': 'tools/call',
      'mcp-name': 'fs_read',
      'last-event-id': 'stream-of-another-1',
    });
    expect(response.status).toBe(200);
    expect(upstream.seen[0]!.headers['last-event-id']).toBeUndefined();
  });

  it('decodes a Base64 Mcp-Name before comparing it', async () => {
    const name = Buffer.from('fs_read').toString('base64');
    const response = await post(await reader(), call('fs_read', { path: '/srv/data/a.txt' }), {
      'mcp-method': 'tools/call',
      'mcp-name': `=?base64?${name}?=`,
    });
    expect(response.status).toBe(200);
  });

  it('refuses batches, GET and DELETE in this era', async () => {
    const token = await reader();
    const batch = await post(token, [call('fs_read', { path: '/srv/data/a' })], {
      'mcp-method': 'tools/call',
      'mcp-name': 'fs_read',
    });
    expect(batch.status).toBe(400);
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(proxy.url, {
        method,
        headers: { authorization: `Bearer ${token}`, 'mcp-protocol-version': VERSION },
      });
      expect(response.status).toBe(405);
    }
    expect(upstream.seen).toEqual([]);
  });

  it("checks a state handle in a tool's arguments against its owner", async () => {
    const aliceToken = await reader();
    const handle = await createSession(
      proxy.core.deps,
      { token: aliceToken, server: RESOURCE, kind: 'state-handle' },
      PROXY_CALLER,
    );
    const headers = { 'mcp-method': 'tools/call', 'mcp-name': 'search_docs' };
    const own = await post(aliceToken, call('search_docs', { query: 'x', state: handle.id }), headers);
    expect(await own.json()).toMatchObject({ result: { echo: 'tools/call' } });
    const mallory = await proxy.core.idp.mint(
      { roles: ['reader'] },
      { subject: 'mallory', audience: RESOURCE, expiresIn: 3600 },
    );
    const replay = await post(mallory, call('search_docs', { query: 'x', state: handle.id }, 2), headers);
    expect(replay.status).toBe(403);
    const body = (await replay.json()) as { error: { data: { reasons: { code: string }[] } } };
    expect(body.error.data.reasons.map((r) => r.code)).toEqual(['session_owner_mismatch']);
    expect(upstream.seen).toHaveLength(1);
  });
});
