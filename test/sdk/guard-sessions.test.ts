import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { revokeSessions } from '../../src/decision/sessions.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { connectClient, refusalCodes, startGuardedSdkServer, type GuardedSdkServer } from '../helpers/sdk-server.ts';

const ADMIN = { id: 'ops', role: 'admin' } as const;
const READ = { name: 'fs_read', arguments: { path: '/srv/data/a.txt' } };

const sessionIdOf = (client: Client) => (client.transport as StreamableHTTPClientTransport).sessionId as string;

describe('guardTransport: warden sessions bound to MCP sessions', () => {
  let core: TestCore;
  let server: GuardedSdkServer;
  let clients: Client[] = [];
  const mint = (sub: string, roles = ['reader']) => core.idp.mint({ roles }, { subject: sub, expiresIn: 7200 });
  const connect = async (token: string | undefined, sessionId?: string) => {
    const client = await connectClient(server.url, token, sessionId);
    clients.push(client);
    return client;
  };
  const recorded = (kind: string) => core.audit.saved.filter((r) => r.kind === kind);

  beforeAll(async () => {
    core = await createTestCore();
    server = await startGuardedSdkServer(inProcessWarden(core.deps, PEP));
  });
  afterEach(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    clients = [];
  });
  afterAll(async () => {
    await server.close();
  });

  it('a session revoked mid-way is refused (session_revoked) and closed; a fresh client re-initializes', async () => {
    const token = await mint('rita');
    const client = await connect(token);
    const sid = sessionIdOf(client);
    await client.callTool(READ);
    const revoked = await revokeSessions(core.deps, { sub: 'rita' }, ADMIN);
    expect(revoked).toHaveLength(1);
    expect(await refusalCodes(client.callTool(READ))).toEqual(['session_revoked']);
    // The guard ended the MCP session, so the stale id is gone from the server.
    await expect.poll(() => server.sessions.has(sid)).toBe(false);
    const fresh = await connect(token);
    expect(sessionIdOf(fresh)).not.toBe(sid);
    expect((await fresh.callTool(READ)).content).toEqual([{ type: 'text', text: 'fs_read /srv/data/a.txt' }]);
  });

  it('another principal replaying the Mcp-Session-Id gets session_owner_mismatch; the owner goes on', async () => {
    const alice = await connect(await mint('alice'));
    const sid = sessionIdOf(alice);
    const mallory = await connect(await mint('mallory'), sid);
    const before = server.calls.length;
    expect(await refusalCodes(mallory.callTool(READ))).toEqual(['session_owner_mismatch']);
    expect(await refusalCodes(mallory.listTools())).toEqual(['session_owner_mismatch']);
    expect(server.calls.length).toBe(before);
    expect(recorded('session.owner_mismatch').length).toBeGreaterThanOrEqual(1);
    // A replay must not let the attacker end the victim's session.
    expect(server.sessions.has(sid)).toBe(true);
    expect((await alice.callTool(READ)).isError).toBeFalsy();
  });

  it('a session idle past its expiry is refused with session_expired', async () => {
    const client = await connect(await mint('ivan'));
    await client.callTool(READ);
    core.clock.advance(901_000); // the default policy gives a reader 900 s of idle time
    expect(await refusalCodes(client.callTool(READ))).toEqual(['session_expired']);
  });

  it('a tool outside the session scope is widened on demand when the policy grants it, and audited', async () => {
    const admin = await connect(await mint('ada', ['admin']));
    // Destructive tools are never in an initial scope: the guard asks for a widening.
    const result = await admin.callTool({ name: 'fs_delete', arguments: { path: '/srv/data/old.txt' } });
    expect(result.content).toEqual([{ type: 'text', text: 'fs_delete /srv/data/old.txt' }]);
    const widened = recorded('session.widened').at(-1);
    expect(widened?.detail).toMatchObject({ added: ['fs_delete'] });
    expect((await admin.listTools()).tools.map((t) => t.name)).toContain('fs_delete');
  });

  it('a refused widening leaves the call denied, with the grant policy’s reasons', async () => {
    // A reader's role does not list fs_write (a writer's lists every catalogue tool, and
    // may have fs_delete in scope: its calls wait for an approval).
    const reader = await connect(await mint('rhea', ['reader']));
    const before = recorded('session.widened').length;
    expect(await refusalCodes(reader.callTool({ name: 'fs_write', arguments: { path: '/srv/data/x' } }))).toEqual([
      'tool_not_in_session_scope',
      'tool_not_permitted',
    ]);
    expect(recorded('session.widened').length).toBe(before);
  });

  it('closing the MCP session (DELETE) revokes its warden session', async () => {
    const client = await connect(await mint('dora'));
    const before = recorded('session.revoked').length;
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await expect.poll(() => recorded('session.revoked').length).toBe(before + 1);
  });
});

describe('guardTransport: options', () => {
  let core: TestCore;
  let server: GuardedSdkServer;
  let ended = 0;

  beforeAll(async () => {
    core = await createTestCore();
    server = await startGuardedSdkServer(inProcessWarden(core.deps, PEP), {
      widenOnDemand: false,
      onSessionEnd: () => void ended++,
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('widenOnDemand: false leaves an out-of-scope call denied; onSessionEnd replaces the close', async () => {
    const token = await core.idp.mint({ roles: ['admin'] }, { subject: 'ada', expiresIn: 7200 });
    const client = await connectClient(server.url, token);
    const call = client.callTool({ name: 'fs_delete', arguments: { path: '/srv/data/old.txt' } });
    expect(await refusalCodes(call)).toEqual(['tool_not_in_session_scope']);
    await revokeSessions(core.deps, { sub: 'ada' }, ADMIN);
    expect(await refusalCodes(client.callTool(READ))).toEqual(['session_revoked']);
    expect(ended).toBe(1);
    expect(server.calls).toEqual([]);
    await client.close();
  });
});
