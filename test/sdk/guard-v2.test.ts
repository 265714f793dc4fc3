import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/decision/principal-revocation.ts';
import { revokePrincipal } from '../../src/decision/revocations.ts';
import { createWardenClient } from '../../src/pep/http-warden.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { StreamSupervisor } from '../../src/pep/stream-supervisor.ts';
import { FORBIDDEN_CODE, guardFactory, type GuardOptions } from '../../src/sdk/index.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { freePort } from '../helpers/sdk-server.ts';
import { SERVER } from '../helpers/tokens.ts';
import { connectV2Client, type V2Client } from '../helpers/v2-client.ts';
import {
  HIDDEN_URI,
  SLOW_PATH,
  startGuardedV2Server,
  startGuardedV2SessionServer,
  v2RefusalCodes,
  v2RefusalOf,
  VISIBLE_URI,
  WATCHED_DIR,
  WRITE_STATE_PREFIX,
  type GuardedV2Server,
} from '../helpers/v2-guarded-server.ts';

// The guard for servers of the v2 SDK (`@modelcontextprotocol/server` 2.x): a real server
// behind `createMcpHandler` (a fresh McpServer per request, both eras), the real v2 client
// over HTTP, the in-process warden. `server.calls` counts tool handler runs.

const MODERN = '2026-07-28';
const ADMIN = { id: 'ops', role: 'admin' } as const;
const ERAS = [
  { era: 'modern', mode: 'auto', version: MODERN },
  { era: 'legacy', mode: 'legacy', version: '2025-11-25' },
] as const;

const decisions = (core: TestCore, method: string) =>
  core.audit.saved.filter((r) => r.kind === 'decision' && r.method === method);

describe.each(ERAS)('guardFactory, $era era: createMcpHandler with the v2 client', ({ era, mode, version }) => {
  let core: TestCore;
  let server: GuardedV2Server;
  let reader: V2Client;
  let writer: V2Client;
  const mint = (sub: string, roles: string[]) => core.idp.mint({ roles }, { subject: sub, expiresIn: 7200 });

  beforeAll(async () => {
    core = await createTestCore();
    server = await startGuardedV2Server(inProcessWarden(core.deps, PEP));
    reader = await connectV2Client(server.url, { token: await mint('alice', ['reader']), mode });
    writer = await connectV2Client(server.url, { token: await mint('walt', ['writer']), mode });
  });
  afterAll(async () => {
    await reader?.close();
    await writer?.close();
    await server?.stop();
  });

  it(`connects in the ${era} era; every decision states its protocol version`, () => {
    expect(reader.era).toBe(era);
    expect(reader.protocolVersion).toBe(version);
    const versions = new Set(
      core.audit.saved.filter((r) => r.kind === 'decision').map((r) => r.input?.protocol_version),
    );
    expect([...versions]).toEqual([version]);
  });

  it('tools/list is filtered per principal: a tool the policy does not know is never listed', async () => {
    const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();
    expect(await names(reader.client)).toEqual(['fs_list', 'fs_read', 'search_docs']);
    // fs_delete is destructive: a writer may call it once approved (destructive_approval), so it is listed.
    expect(await names(writer.client)).toEqual(['fs_delete', 'fs_list', 'fs_read', 'fs_write', 'search_docs']);
  });

  it('prompts/list and resources/list are filtered too', async () => {
    const prompts = (await reader.client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(['summarize']);
    const resources = (await reader.client.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual([VISIBLE_URI]);
    expect(await v2RefusalCodes(reader.client.readResource({ uri: HIDDEN_URI }))).toEqual(['resource_not_permitted']);
  });

  it('an allowed call reaches the tool handler and returns its result', async () => {
    const before = server.calls.length;
    const result = await reader.client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/notes.txt' } });
    expect(result.content).toEqual([{ type: 'text', text: 'fs_read /srv/data/notes.txt' }]);
    expect(server.calls.slice(before)).toEqual(['fs_read']);
  });

  it("a refused call is answered by the guard with -32003 and the decision's reasons; no handler runs", async () => {
    const before = server.calls.length;
    const err = await v2RefusalOf(reader.client.callTool({ name: 'fs_read', arguments: { path: '/etc/passwd' } }));
    expect(err.code).toBe(FORBIDDEN_CODE);
    expect(err.data.reasons.map((r) => r.code)).toEqual(['argument_not_allowed']);
    const record = core.audit.saved.find((r) => r.decision_id === err.data.decision_id);
    expect(record).toMatchObject({ kind: 'decision', allow: false, tool: 'fs_read', session: null });
    const args = { path: '/srv/data/x' };
    expect(await v2RefusalCodes(reader.client.callTool({ name: 'fs_delete', arguments: args }))).toContain(
      'tool_not_permitted',
    );
    expect(await v2RefusalCodes(writer.client.callTool({ name: 'debug_eval', arguments: args }))).toContain(
      'tool_unknown',
    );
    expect(server.calls.length).toBe(before);
  });

  it('a client without a token is refused (token_missing) before any handler runs', async () => {
    const before = server.calls.length;
    expect(await v2RefusalCodes(connectV2Client(server.url, { mode }))).toEqual(['token_missing']);
    expect(server.calls.length).toBe(before);
  });

  it('notifications the server sends during a call reach the client only for what its principal may see', async () => {
    const updated: string[] = [];
    reader.client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
    await reader.client.callTool({ name: 'fs_list', arguments: { path: WATCHED_DIR } });
    expect(updated).toEqual([VISIBLE_URI]);
  });

  it("a state handle the server mints is its principal's: another's replay never reaches the handler", async () => {
    const search = (client: Client, state?: string) =>
      client.callTool({
        name: 'search_docs',
        arguments: { query: 'tides', ...(state === undefined ? {} : { state }) },
      });
    const first = await search(reader.client);
    const state = (first.structuredContent as { state: string }).state;
    expect(core.audit.saved.filter((r) => r.kind === 'handle.bound').at(-1)).toMatchObject({
      principal: { sub: 'alice' },
    });
    const next = await search(reader.client, state);
    expect((next.structuredContent as { state: string }).state).toMatch(/^cursor:2:/);
    const before = server.calls.length;
    expect(await v2RefusalCodes(search(writer.client, state))).toEqual(['handle_owner_mismatch']);
    expect(server.calls.length).toBe(before);
  });

  it('no warden session in either era: each request is decided with the token only', () => {
    expect(core.audit.saved.some((r) => r.kind === 'session.created')).toBe(false);
    expect(decisions(core, 'tools/call').every((r) => r.session === null)).toBe(true);
  });

  // Run last: every handler run of this block against the audit trail.
  it('no tool handler ran without an allowing, audited decision', () => {
    const allowed = decisions(core, 'tools/call')
      .filter((r) => r.allow === true)
      .map((r) => r.tool)
      .sort();
    expect(server.calls.length).toBeGreaterThan(0);
    expect([...server.calls].sort()).toEqual(allowed);
  });
});

/** One raw POST to the endpoint, for what the SDK client never sends; the answer of a JSON or SSE body. */
async function post(url: string, headers: Record<string, string>, body: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)))
        .find((m) => 'id' in m)
    : JSON.parse(text);
  return { status: res.status, rpc: json as Rpc };
}

interface Rpc {
  readonly id?: unknown;
  readonly result?: { resultType?: string; requestState?: string; content?: { text: string }[] };
  readonly error?: { code: number; message: string; data?: { reasons?: { code: string }[] } };
}

const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
};
const modernHeaders = (token: string, method: string, name?: string) => ({
  authorization: `Bearer ${token}`,
  'mcp-protocol-version': MODERN,
  'mcp-method': method,
  ...(name === undefined ? {} : { 'mcp-name': name }),
});
const call = (name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: args, _meta: META, ...extra },
});
const reasonCodes = (rpc: Rpc) => (rpc.error?.data?.reasons ?? []).map((r) => r.code);

describe('guardFactory, modern era: what the proxy refuses at the edge', () => {
  let core: TestCore;
  let server: GuardedV2Server;
  let token: string;
  beforeAll(async () => {
    core = await createTestCore();
    server = await startGuardedV2Server(inProcessWarden(core.deps, PEP));
    token = await core.idp.mint({ roles: ['writer'] }, { subject: 'walt', expiresIn: 7200 });
  });
  afterAll(async () => server?.stop());

  it('headers that disagree with the body are 400 -32020, neither decided nor run (the SDK checks first)', async () => {
    const decided = core.audit.saved.length;
    const args = { path: '/srv/data/x' };
    const named = await post(server.url, modernHeaders(token, 'tools/call', 'fs_read'), call('fs_delete', args));
    expect(named.status).toBe(400);
    expect(named.rpc.error?.code).toBe(-32020);
    const method = await post(server.url, modernHeaders(token, 'tools/list', 'fs_read'), call('fs_read', args));
    expect([method.status, method.rpc.error?.code]).toEqual([400, -32020]);
    const header = { ...modernHeaders(token, 'tools/call', 'fs_read'), 'mcp-protocol-version': '2025-11-25' };
    const version = await post(server.url, header, call('fs_read', args));
    expect([version.status, version.rpc.error?.code]).toEqual([400, -32020]);
    expect(core.audit.saved.length).toBe(decided);
    expect(server.calls).toEqual([]);
  });

  it('a modern request without _meta is 400 -32602 (the SDK); with Mcp-Session-Id, refused (the guard)', async () => {
    const args = { path: '/srv/data/x' };
    const decided = decisions(core, 'tools/call').length;
    const bare = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fs_read', arguments: args } };
    const noMeta = await post(server.url, modernHeaders(token, 'tools/call', 'fs_read'), bare);
    expect(noMeta).toMatchObject({ status: 400, rpc: { id: 2, error: { code: -32602 } } });
    // No legacy session rides along unchecked: the proxy's rule, applied by the guard (in-band).
    const headers = { ...modernHeaders(token, 'tools/call', 'fs_read'), 'mcp-session-id': 'legacy-1' };
    const session = await post(server.url, headers, call('fs_read', args));
    expect(session.rpc).toMatchObject({ id: 1, error: { code: -32600 } });
    expect(session.rpc.error?.message).toMatch(/may not carry an Mcp-Session-Id/);
    expect(reasonCodes(session.rpc)).toEqual(['invalid_request']);
    expect(decisions(core, 'tools/call').length).toBe(decided);
    expect(server.calls).toEqual([]);
  });

  it('a multi-round-trip requestState reaches the client sealed, and the server gets its own value back', async () => {
    const walt = await connectV2Client(server.url, { token, capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    walt.client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(String(request.params.message));
      return { action: 'accept', content: { confirm: true } };
    });
    const result = await walt.client.callTool({ name: 'fs_write', arguments: { path: '/srv/data/w.txt' } });
    expect(asked).toEqual(['Write /srv/data/w.txt?']);
    expect(result.content).toEqual([{ type: 'text', text: 'fs_write /srv/data/w.txt (confirmed)' }]);
    expect(server.states).toEqual([`${WRITE_STATE_PREFIX}/srv/data/w.txt`]);
    expect(core.audit.saved.filter((r) => r.kind === 'request_state.sealed')).toHaveLength(1);
    await walt.close();
  });

  it("another principal's replay of a sealed requestState is refused and never reaches the handler", async () => {
    const first = await post(
      server.url,
      modernHeaders(token, 'tools/call', 'fs_write'),
      call('fs_write', { path: '/srv/data/v.txt' }),
    );
    const sealed = first.rpc.result?.requestState;
    expect(first.rpc.result?.resultType).toBe('input_required');
    expect(sealed).toMatch(/^mwr_/);
    expect(sealed).not.toContain(WRITE_STATE_PREFIX);
    const wendy = await core.idp.mint({ roles: ['writer'] }, { subject: 'wendy', expiresIn: 7200 });
    const calls = server.calls.length;
    const retry = {
      requestState: sealed,
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
    };
    const replay = await post(
      server.url,
      modernHeaders(wendy, 'tools/call', 'fs_write'),
      call('fs_write', { path: '/srv/data/v.txt' }, retry),
    );
    expect(replay.rpc.error?.code).toBe(FORBIDDEN_CODE);
    expect(reasonCodes(replay.rpc)).toEqual(['request_state_owner_mismatch']);
    expect(server.calls.length).toBe(calls);
  });

  it('subscriptions/listen is decided: refused without a token, allowed without resource subscriptions', async () => {
    const listen = {
      jsonrpc: '2.0',
      id: 9,
      method: 'subscriptions/listen',
      params: { notifications: { toolsListChanged: true, resourceSubscriptions: [HIDDEN_URI] }, _meta: META },
    };
    const { authorization: _none, ...anonymous } = modernHeaders(token, 'subscriptions/listen');
    const refused = await post(server.url, anonymous, listen);
    expect([refused.status, refused.rpc.error?.code]).toEqual([500, -32603]);
    expect(server.errors.map((e) => e.message)).toContain(
      'subscriptions/listen refused: no bearer token was presented',
    );
    // An allowed stream stays open: read its first event (the acknowledgement), then leave.
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...modernHeaders(token, 'subscriptions/listen'),
      },
      body: JSON.stringify(listen),
    });
    const reader = res.body!.getReader();
    const ack = JSON.parse(new TextDecoder().decode((await reader.read()).value).split('data: ')[1]!);
    await reader.cancel();
    expect(ack).toMatchObject({
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: { toolsListChanged: true } },
    });
    expect(ack.params.notifications.resourceSubscriptions).toBeUndefined();
    expect(decisions(core, 'subscriptions/listen').map((r) => r.allow)).toEqual([false, true]);
  });
});

describe('guardFactory: a request in flight when its principal is revoked', () => {
  let core: TestCore;
  let server: GuardedV2Server;
  beforeAll(async () => {
    core = await createTestCore();
    const warden = inProcessWarden(core.deps, PEP);
    const supervisor = new StreamSupervisor({ warden, intervalMs: 50, unavailableGraceMs: 1_000 });
    server = await startGuardedV2Server(warden, { supervisor });
  });
  afterAll(async () => server?.stop());

  it.each(ERAS)(
    '$era era: the exchange is cut and the handler aborted, as the proxy cuts a stream',
    async ({ mode }) => {
      const token = await core.idp.mint({ roles: ['reader'] }, { subject: `rita-${mode}`, expiresIn: 7200 });
      const rita = await connectV2Client(server.url, { token, mode });
      const aborted = server.aborted.length;
      // The legacy client waits for an answer that will not come: bound its wait.
      const pending = rita.client.callTool({ name: 'fs_read', arguments: { path: SLOW_PATH } }, { timeout: 2_000 });
      const outcome = pending.then(
        () => 'answered',
        () => 'cut',
      );
      await expect.poll(() => server.calls.filter((c) => c === 'fs_read').length).toBeGreaterThan(0);
      await revokePrincipal(core.deps, { token_sha256: hashToken(token) }, ADMIN);
      await expect.poll(() => server.aborted.length, { timeout: 3_000 }).toBe(aborted + 1);
      expect(await outcome).toBe('cut');
      await rita.close().catch(() => undefined);
      server.calls.length = 0;
    },
  );
});

describe('guardTransport on a v2 sessionful transport (2025 era, NodeStreamableHTTPServerTransport)', () => {
  let core: TestCore;
  let server: Awaited<ReturnType<typeof startGuardedV2SessionServer>>;
  beforeAll(async () => {
    core = await createTestCore();
    server = await startGuardedV2SessionServer(inProcessWarden(core.deps, PEP));
  });
  afterAll(async () => server?.stop());

  it('binds a warden session to the MCP session; a replay by another is refused; close revokes it', async () => {
    const token = await core.idp.mint({ roles: ['reader'] }, { subject: 'alice', expiresIn: 7200 });
    const alice = await connectV2Client(server.url, { token, mode: 'legacy' });
    expect(alice.era).toBe('legacy');
    expect((await alice.client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'fs_list',
      'fs_read',
      'search_docs',
    ]);
    await alice.client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } });
    expect(
      await v2RefusalCodes(alice.client.callTool({ name: 'fs_delete', arguments: { path: '/srv/data/a' } })),
    ).toContain('tool_not_permitted');
    expect(core.audit.saved.filter((r) => r.kind === 'session.created')).toHaveLength(1);
    expect(decisions(core, 'tools/call').every((r) => /^[0-9a-f]{64}$/.test(String(r.session)))).toBe(true);
    const [sessionId] = [...server.sessions.keys()];
    const bob = await core.idp.mint({ roles: ['reader'] }, { subject: 'bob', expiresIn: 7200 });
    const replay = await post(
      server.url,
      { authorization: `Bearer ${bob}`, 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-11-25' },
      { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    );
    expect(replay.rpc.error?.code).toBe(FORBIDDEN_CODE);
    expect(reasonCodes(replay.rpc)).toEqual(['session_owner_mismatch']);
    expect(server.calls).toEqual(['fs_read']);
    // Closing the transport revokes its warden session.
    await server.sessions.get(sessionId!)?.close();
    await expect.poll(() => core.audit.saved.filter((r) => r.kind === 'session.revoked').length).toBe(1);
    await alice.close();
  });
});

describe('guardFactory: fail closed', () => {
  it.each(ERAS)(
    '$era era: a warden that cannot be reached refuses everything with pdp_unavailable',
    async ({ mode }) => {
      const core = await createTestCore();
      const warden = createWardenClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 500 });
      const server = await startGuardedV2Server(warden);
      try {
        const token = await core.idp.mint({ roles: ['reader'] }, { subject: 'alice', expiresIn: 7200 });
        expect(await v2RefusalCodes(connectV2Client(server.url, { token, mode }))).toEqual(['pdp_unavailable']);
        const args = { path: '/srv/data/a' };
        const direct = await post(server.url, modernHeaders(token, 'tools/call', 'fs_read'), call('fs_read', args));
        expect(reasonCodes(direct.rpc)).toEqual(['pdp_unavailable']);
        expect(server.calls).toEqual([]);
      } finally {
        await server.stop();
        await warden.close();
      }
    },
  );

  it('refuses to build without a warden or a server id', async () => {
    const core = await createTestCore();
    const factory = () => {
      throw new Error('never called');
    };
    expect(() => guardFactory(factory, { server: SERVER } as GuardOptions)).toThrow(TypeError);
    expect(() => guardFactory(factory, { warden: inProcessWarden(core.deps, PEP), server: '' })).toThrow(TypeError);
  });
});
