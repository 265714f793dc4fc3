import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryApprovalStore } from '../../src/approval/memory-store.ts';
import { decideApproval } from '../../src/decision/approvals.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import type { Caller } from '../../src/decision/types.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { guardTransport } from '../../src/sdk/guard.ts';
import { PAGE, withApprovals } from '../helpers/approvals.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { startGuardedSdkServer, type GuardedSdkServer } from '../helpers/sdk-server.ts';
import { SERVER } from '../helpers/tokens.ts';

// A parked call through the guard (MCP 2025-11-25, SDK 1.x on both sides): the default
// policy parks a writer's fs_delete for an admin; the guard answers it as a URL
// elicitation (-32042) to a client that declared `elicitation.url`, else -32003.
const CONSOLE: Caller = { id: 'console', role: 'admin' };

let t: TestCore;
let deps: CoreDeps;
let server: GuardedSdkServer;

beforeAll(async () => {
  t = await createTestCore();
  deps = withApprovals(t.deps, new MemoryApprovalStore({ maxGrantMs: 600_000, retainMs: 3_600_000 }));
  server = await startGuardedSdkServer(inProcessWarden(deps, PEP));
});
afterAll(async () => {
  await server?.close();
});

async function connect(sub: string, capabilities: Record<string, unknown>): Promise<Client> {
  const token = await t.idp.mint({ roles: ['writer'], client_id: 'agent-app' }, { subject: sub, expiresIn: 3600 });
  const transport = new StreamableHTTPClientTransport(server.url, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'guard-approvals', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<McpError> {
  const err = await promise.then(
    () => expect.fail('the call was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

const remove = (client: Client, path = '/srv/data/old.txt') =>
  client.callTool({ name: 'fs_delete', arguments: { path } });
const deletes = () => server.calls.filter((c) => c === 'fs_delete').length;

describe('the guard delivers a parked call', () => {
  it('as -32042 to a 1.x client that declared elicitation.url; the grant is used once', async () => {
    const alice = await connect('alice', { elicitation: { url: {} } });
    const parked = await rejection(remove(alice));
    expect(parked.code).toBe(-32042);
    // The 1.x SDK rebuilds a -32042 as UrlElicitationRequiredError, whose data keeps only the
    // elicitations (the guard's reasons and approval beside them are on the wire, not here).
    const data = parked.data as {
      elicitations: { mode: string; elicitationId: string; url: string; message: string }[];
    };
    const id = data.elicitations[0]!.elicitationId;
    expect(id).toMatch(/^mwa_[A-Za-z0-9_-]{43}$/);
    expect(data.elicitations).toEqual([
      { mode: 'url', elicitationId: id, url: `${PAGE}/${id}`, message: expect.stringContaining('Approval required') },
    ]);
    expect(deletes()).toBe(0);

    const bob = await t.idp.mint({ roles: ['admin'] }, { subject: 'bob' });
    await decideApproval(deps, { id, token: bob, decision: 'grant' }, CONSOLE);
    const done = await remove(alice);
    expect(done.content).toEqual([{ type: 'text', text: 'fs_delete /srv/data/old.txt' }]);
    expect(deletes()).toBe(1);
    expect((await rejection(remove(alice))).code).toBe(-32042);
    expect(deletes()).toBe(1);
    await alice.close();
  });

  it('as -32003 naming the approval to a client that did not declare elicitation.url', async () => {
    const before = deletes();
    for (const capabilities of [{}, { elicitation: {} }, { elicitation: { form: {} } }]) {
      const dave = await connect('dave', capabilities);
      const denied = await rejection(remove(dave, '/srv/data/dave.txt'));
      expect(denied.code, JSON.stringify(capabilities)).toBe(-32003);
      const data = denied.data as { reasons: { code: string }[]; approval: { id: string; url: string } };
      expect(data.reasons.map((r) => r.code)).toEqual(['approval_required']);
      expect(data.approval.id).toMatch(/^mwa_/);
      expect(data.approval.url).toBe(`${PAGE}/${data.approval.id}`);
      expect(data).not.toHaveProperty('elicitations');
      await dave.close();
    }
    expect(deletes()).toBe(before);
  });

  it('on the wire: -32042 carries the reasons, decision id and approval beside the elicitation', async () => {
    const token = await t.idp.mint({ roles: ['writer'] }, { subject: 'erin', expiresIn: 3600 });
    const calls: string[] = [];
    const low = new Server({ name: 'low', version: '1.0.0' }, { capabilities: { tools: {} } });
    low.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    low.setRequestHandler(CallToolRequestSchema, async (request) => {
      calls.push(request.params.name);
      return { content: [{ type: 'text', text: 'done' }] };
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await low.connect(
      guardTransport(serverSide, { server: SERVER, warden: inProcessWarden(deps, PEP), token: () => token }),
    );
    const received: JSONRPCMessage[] = [];
    clientSide.onmessage = (m) => void received.push(m);
    await clientSide.start();
    const capabilities = { elicitation: { form: {}, url: {} } };
    const clientInfo = { name: 'raw', version: '1' };
    await clientSide.send({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities, clientInfo },
    });
    await expect.poll(() => received.length).toBe(1);
    await clientSide.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const params = { name: 'fs_delete', arguments: { path: '/srv/data/wire.txt' } };
    await clientSide.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });
    await expect.poll(() => received.length).toBe(2);
    const answer = received[1] as { id: number; error: { code: number; data: Record<string, unknown> } };
    expect(answer).toMatchObject({ id: 1, error: { code: -32042 } });
    const { data } = answer.error;
    const id = (data.approval as { id: string }).id;
    expect(data).toEqual({
      elicitations: [{ mode: 'url', elicitationId: id, url: `${PAGE}/${id}`, message: expect.any(String) }],
      reasons: [{ code: 'approval_required', message: expect.stringContaining(id) }],
      decision_id: expect.any(String),
      approval: {
        id,
        url: `${PAGE}/${id}`,
        expires_at: expect.any(String),
        reason: expect.stringContaining('fs_delete is destructive'),
      },
    });
    expect(calls).toEqual([]);
    await low.close();
  });
});
