import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revokeSessions } from '../../src/decision/sessions.ts';
import {
  EVERYTHING_READER_TOOLS,
  startCountingTap,
  startEverything,
  type CountingTap,
  type Everything,
} from '../helpers/everything.ts';
import { postInitialize, RESOURCE, startTestProxy, type TestProxy } from '../helpers/proxy.ts';

// The real server-everything behind a counting tap, the proxy in front, the real SDK client.
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
beforeEach(() => {
  tap.reset();
  proxy.core.audit.saved.length = 0;
});

async function connect(
  token: string,
  sessionId?: string,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(proxy.url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    ...(sessionId === undefined ? {} : { sessionId }),
  });
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

function decisions(method?: string) {
  return proxy.core.audit.saved.filter((r) => r.kind === 'decision' && (method === undefined || r.method === method));
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.unreachable('the request was allowed'),
    (err: Error) => err,
  );
}

describe('proxy in front of server-everything (legacy sessions)', () => {
  it('returns the upstream result of an allowed call, and the client sees only the warden session id', async () => {
    const { client, transport } = await connect(await proxy.token('alice', 'mcp:read'));
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: hello' }]);
    expect(transport.sessionId).toMatch(/^mws_/);
    expect(tap.counts()['tools/call:echo']).toBe(1);
    // initialize's clientInfo is in its decision record.
    expect(decisions('initialize').at(-1)?.input?.client).toMatchObject({ name: 'e2e', version: '1.0.0' });
    await client.close();
  });

  it('answers a denied call with the reasons and decision id, and never forwards it', async () => {
    const { client } = await connect(await proxy.token('alice', 'mcp:read'));
    // get-resource-links is not in the policy's catalogue.
    const err = await rejection(client.callTool({ name: 'get-resource-links', arguments: { count: 1 } }));
    expect(err).toBeInstanceOf(McpError);
    const { code, data } = err as McpError;
    expect(code).toBe(-32003);
    const { reasons, decision_id } = data as { reasons: { code: string }[]; decision_id: string };
    expect(reasons.map((r) => r.code)).toContain('tool_unknown');
    expect(decisions('tools/call').map((r) => r.decision_id)).toContain(decision_id);
    expect(tap.counts()['tools/call:get-resource-links']).toBeUndefined();
    await client.close();
  });

  it('answers 403 insufficient_scope with a challenge when the token lacks the role', async () => {
    const token = await proxy.token('alice', 'mcp:read');
    const { client, transport } = await connect(token);
    const response = await fetch(proxy.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get-env', arguments: {} } }),
    });
    expect(response.status).toBe(403);
    // The challenge names the scope that would lift the deny (get-env is admin-only), not the whole list.
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer resource_metadata="[^"]+", error="insufficient_scope", error_description="[^"]*", scope="mcp:admin"$/,
    );
    const body = (await response.json()) as { id: number; error: { data: { reasons: { code: string }[] } } };
    expect(body.id).toBe(7);
    expect(body.error.data.reasons.map((r) => r.code)).toEqual(
      expect.arrayContaining(['tool_not_in_session_scope', 'tool_not_permitted']),
    );
    expect(tap.counts()['tools/call:get-env']).toBeUndefined();
    // A tool no scope grants is a plain denial: a new token would not help.
    const unknown = await fetch(proxy.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 8,
        method: 'tools/call',
        params: { name: 'get-resource-links', arguments: {} },
      }),
    });
    expect(unknown.status).toBe(200);
    expect(unknown.headers.get('www-authenticate')).toBeNull();
    await client.close();
  });

  it('filters tools/list per principal, and hides tools the policy does not know', async () => {
    const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();
    const reader = await connect(await proxy.token('lister-r', 'mcp:read'));
    const writer = await connect(await proxy.token('lister-w', 'mcp:write'));
    const admin = await connect(await proxy.token('lister-a', 'mcp:admin'));
    const readerTools = await names(reader.client);
    const writerTools = await names(writer.client);
    expect(readerTools).toEqual(EVERYTHING_READER_TOOLS);
    expect(writerTools).toEqual([...readerTools, 'gzip-file-as-resource', 'toggle-simulated-logging'].sort());
    // A destructive tool is listed once the session's scope holds it (a widening by name).
    expect(await names(admin.client)).toEqual(writerTools);
    await admin.client.callTool({ name: 'get-env', arguments: {} });
    expect(await names(admin.client)).toEqual([...writerTools, 'get-env'].sort());
    for (const list of [readerTools, writerTools]) expect(list).not.toContain('get-resource-links');
    expect(tap.counts()['tools/list']).toBe(4);
    for (const { client } of [reader, writer, admin]) await client.close();
  });

  it('widens a session on demand as a re-authorization, recorded in the audit trail', async () => {
    const { client } = await connect(await proxy.token('root', 'mcp:admin'));
    // get-env is destructive: not in a new session's default scope, granted to an admin by name.
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    expect(result.isError).not.toBe(true);
    const widened = proxy.core.audit.saved.filter((r) => r.kind === 'session.widened');
    expect(widened).toHaveLength(1);
    expect(widened[0]!.detail).toMatchObject({ added: ['get-env'] });
    await client.close();
  });

  it('refuses a session revoked mid-way at the next call (404), and the client can re-initialize', async () => {
    const token = await proxy.token('carol', 'mcp:read');
    const first = await connect(token);
    await first.client.callTool({ name: 'echo', arguments: { message: 'before' } });
    await revokeSessions(proxy.core.deps, { sub: 'carol' }, { id: 'ops', role: 'admin' });
    tap.reset();
    const err = await rejection(first.client.callTool({ name: 'echo', arguments: { message: 'after' } }));
    expect(err).toMatchObject({ code: 404 });
    expect(err.message).toContain('session_revoked');
    expect(tap.counts()['tools/call']).toBeUndefined();
    const second = await connect(token);
    expect(second.transport.sessionId).not.toBe(first.transport.sessionId);
    const result = await second.client.callTool({ name: 'echo', arguments: { message: 'again' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: again' }]);
    await second.client.close();
  });

  it('refuses another principal replaying a session id, and records the replay', async () => {
    const owner = await connect(await proxy.token('alice', 'mcp:read'));
    const sessionId = owner.transport.sessionId!;
    tap.reset();
    const thief = new StreamableHTTPClientTransport(new URL(proxy.url), {
      requestInit: { headers: { authorization: `Bearer ${await proxy.token('mallory', 'mcp:read')}` } },
      sessionId,
    });
    const client = new Client({ name: 'thief', version: '1.0.0' });
    // Connecting with a session id skips initialize; the first request is the replay.
    await client.connect(thief);
    const err = await rejection(client.callTool({ name: 'echo', arguments: { message: 'stolen' } }));
    expect(err).toMatchObject({ code: 403 });
    expect(err.message).toContain('session_owner_mismatch');
    expect(tap.counts()['tools/call']).toBeUndefined();
    const replay = proxy.core.audit.saved.find((r) => r.kind === 'session.owner_mismatch');
    expect(replay?.principal).toMatchObject({ sub: 'mallory' });
    // The owner is not affected.
    await owner.client.callTool({ name: 'echo', arguments: { message: 'mine' } });
    await owner.client.close();
  });

  it('answers 404 for an expired session', async () => {
    const { client } = await connect(await proxy.token('dave', 'mcp:read'));
    proxy.core.clock.advance(901_000); // past a reader's idle expiry (900 s)
    const err = await rejection(client.callTool({ name: 'echo', arguments: { message: 'late' } }));
    expect(err).toMatchObject({ code: 404 });
    expect(err.message).toContain('session_expired');
    await client.close();
  });

  it('answers 401 with a challenge naming the resource metadata, which is served', async () => {
    const response = await postInitialize(proxy.url);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp", ' +
        'scope="mcp:read mcp:write mcp:admin"',
    );
    const metadata = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', proxy.url));
    expect(await metadata.json()).toMatchObject({ resource: RESOURCE, bearer_methods_supported: ['header'] });
    expect(tap.requests()).toEqual([]);
  });

  it('forwards nothing that was not allowed: every message the upstream saw has an allowing decision', async () => {
    const { client, transport } = await connect(await proxy.token('erin', 'mcp:write'));
    await client.listTools();
    await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    await rejection(client.callTool({ name: 'get-env', arguments: {} }));
    await rejection(client.callTool({ name: 'get-resource-links', arguments: {} }));
    await client.listPrompts();
    await transport.terminateSession();
    const allowed = decisions().filter((r) => r.allow === true);
    const seen = tap.requests();
    // Each forwarded message matches one allowing decision of the same method (and tool).
    const pool = allowed.map((r) => `${r.method}:${r.tool ?? ''}`);
    for (const m of seen) {
      const key = `${m.method}:${m.name ?? ''}`;
      const at = pool.indexOf(key);
      expect(at, `forwarded without a decision: ${key}`).toBeGreaterThanOrEqual(0);
      pool.splice(at, 1);
    }
    expect(seen.filter((m) => m.method === 'tools/call').map((m) => m.name)).toEqual(['get-sum']);
    expect(tap.http().filter((h) => h.method === 'DELETE')).toHaveLength(1);
    expect(proxy.core.audit.saved.filter((r) => r.kind === 'session.revoked')).toHaveLength(1);
  });
});
