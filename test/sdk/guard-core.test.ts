import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeSessions } from '../../src/decision/sessions.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { StreamSupervisor } from '../../src/pep/stream-supervisor.ts';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine } from '../../src/policy/engine.ts';
import { guardTransport } from '../../src/sdk/guard.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { fixtureBundle } from '../helpers/paths.ts';
import { connectClient, refusalCodes, startGuardedSdkServer, type GuardedSdkServer } from '../helpers/sdk-server.ts';
import { SERVER } from '../helpers/tokens.ts';

// The enforcement core's rules, through the guard: the same code the proxy runs.
const ADMIN = { id: 'ops', role: 'admin' } as const;

describe('the guard applies the enforcement core', () => {
  it('an allow with an obligation the guard does not carry out is a deny; the tool never runs', async () => {
    const core = await createTestCore({
      engine: await loadPolicyEngine(await readBundleFile(fixtureBundle('obligation'), 64 << 20)),
    });
    const server = await startGuardedSdkServer(inProcessWarden(core.deps, PEP));
    try {
      const client = await connectClient(
        server.url,
        await core.idp.mint({ roles: ['reader'] }, { subject: 'olga', expiresIn: 3600 }),
      );
      expect(await refusalCodes(client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } }))).toEqual([
        'obligation_unsupported',
      ]);
      expect(server.calls).not.toContain('fs_read');
      await client.callTool({ name: 'fs_list', arguments: { path: '/srv/data/' } });
      expect(server.calls).toContain('fs_list');
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a request whose id is still pending; a list-shaped answer to no pending request is dropped', async () => {
    const core = await createTestCore();
    const token = await core.idp.mint({ roles: ['reader'] }, { subject: 'ida', expiresIn: 3600 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const server = new Server({ name: 'low', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 'fs_read', inputSchema: { type: 'object' as const } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      calls.push(request.params.name);
      await gate;
      return { content: [{ type: 'text', text: 'done' }] };
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const guarded = guardTransport(serverSide, {
      server: SERVER,
      warden: inProcessWarden(core.deps, PEP),
      token: () => token,
    });
    await server.connect(guarded);
    const received: JSONRPCMessage[] = [];
    clientSide.onmessage = (m) => void received.push(m);
    await clientSide.start();
    const call = {
      jsonrpc: '2.0' as const,
      id: 7,
      method: 'tools/call',
      params: { name: 'fs_read', arguments: { path: '/srv/data/a' } },
    };
    await clientSide.send(call);
    await expect.poll(() => calls.length).toBe(1);
    await clientSide.send({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} });
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]).toMatchObject({
      id: 7,
      error: { code: -32003, data: { reasons: [{ code: 'duplicate_id' }] } },
    });
    release();
    await expect.poll(() => received.length).toBe(2);
    expect(received[1]).toMatchObject({ id: 7, result: { content: [{ text: 'done' }] } });
    // A stray list the server sends for an id nobody asked: withheld.
    await guarded.send({ jsonrpc: '2.0', id: 99, result: { tools: [{ name: 'secret' }] } } as JSONRPCMessage);
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toHaveLength(2);
    await server.close();
  });

  describe('a session revoked while its transport is open', () => {
    let core: TestCore;
    let server: GuardedSdkServer;
    const supervisor = () =>
      new StreamSupervisor({ warden: inProcessWarden(core.deps, PEP), intervalMs: 50, unavailableGraceMs: 1_000 });
    beforeAll(async () => {
      core = await createTestCore();
      server = await startGuardedSdkServer(inProcessWarden(core.deps, PEP), { supervisor: supervisor() });
    });
    afterAll(async () => server?.close());

    it('ends the MCP session without waiting for the next request', async () => {
      const client = await connectClient(
        server.url,
        await core.idp.mint({ roles: ['reader'] }, { subject: 'vera', expiresIn: 3600 }),
      );
      await client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } });
      expect(server.sessions.size).toBe(1);
      await revokeSessions(core.deps, { sub: 'vera' }, ADMIN);
      await expect.poll(() => server.sessions.size, { timeout: 3_000 }).toBe(0);
      await client.close().catch(() => undefined);
    });
  });
});
