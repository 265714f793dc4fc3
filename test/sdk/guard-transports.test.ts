import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListRootsRequestSchema,
  ListToolsRequestSchema,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { revokeSessions } from '../../src/decision/sessions.ts';
import { createWardenClient } from '../../src/pep/http-warden.ts';
import { FORBIDDEN_CODE, guardTransport, type GuardOptions } from '../../src/sdk/guard.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { freePort, refusalCodes, refusalOf } from '../helpers/sdk-server.ts';
import { SERVER } from '../helpers/tokens.ts';

const TOOLS = ['fs_read', 'fs_write', 'debug_eval'];

/** The low-level SDK `Server`, with hand-written handlers, over the SDK's in-memory transport. */
async function lowLevelPair(options: Omit<GuardOptions, 'server'>, sessionId?: string) {
  const calls: string[] = [];
  const server = new Server({ name: 'low', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: TOOLS.map((name) => ({ name, inputSchema: { type: 'object' as const } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    calls.push(request.params.name);
    return { content: [{ type: 'text', text: `ran ${request.params.name}` }] };
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  serverSide.sessionId = sessionId;
  await server.connect(guardTransport(serverSide, { server: SERVER, ...options }));
  return { calls, clientSide, server };
}

describe('guardTransport over any transport', () => {
  let core: TestCore;
  let token: string;
  beforeEach(async () => {
    core = await createTestCore();
    token = await core.idp.mint({ roles: ['reader'] }, { subject: 'alice', expiresIn: 7200 });
  });

  it('guards the low-level Server on a stateless transport: token only, no warden session', async () => {
    const { calls, clientSide, server } = await lowLevelPair({
      warden: inProcessWarden(core.deps, PEP),
      token: () => token,
    });
    const client = new Client({ name: 'c', version: '1.0.0' });
    await client.connect(clientSide);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['fs_read']);
    expect((await client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } })).content).toEqual([
      { type: 'text', text: 'ran fs_read' },
    ]);
    const err = await refusalOf(client.callTool({ name: 'fs_write', arguments: { path: '/srv/data/a' } }));
    expect(err.code).toBe(FORBIDDEN_CODE);
    expect(calls).toEqual(['fs_read']);
    expect(core.audit.saved.some((r) => r.kind === 'session.created')).toBe(false);
    const decisions = core.audit.saved.filter((r) => r.kind === 'decision');
    expect(decisions.every((r) => r.session === null)).toBe(true);
    await client.close();
    await server.close();
  });

  it('a transport with a session id gets a warden session, revoked when the transport closes', async () => {
    const { clientSide, server } = await lowLevelPair(
      { warden: inProcessWarden(core.deps, PEP), token: () => token },
      'mem-1',
    );
    const client = new Client({ name: 'c', version: '1.0.0' });
    await client.connect(clientSide);
    await client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } });
    expect(core.audit.saved.filter((r) => r.kind === 'session.created')).toHaveLength(1);
    await client.close();
    await expect.poll(() => core.audit.saved.filter((r) => r.kind === 'session.revoked').length).toBe(1);
    await server.close();
  });

  it("decides a client's answer to a server request (transport/response); drops it once session revoked", async () => {
    const { clientSide, server } = await lowLevelPair(
      { warden: inProcessWarden(core.deps, PEP), token: () => token },
      'mem-3',
    );
    const client = new Client({ name: 'c', version: '1.0.0' }, { capabilities: { roots: {} } });
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: 'file:///srv/data/', name: 'data' }],
    }));
    await client.connect(clientSide);
    const roots = await server.listRoots();
    expect(roots.roots.map((r) => r.uri)).toEqual(['file:///srv/data/']);
    expect(
      core.audit.saved.filter((r) => r.kind === 'decision' && r.method === 'transport/response').map((r) => r.allow),
    ).toEqual([true]);
    await revokeSessions(core.deps, { sub: 'alice' }, { id: 'ops', role: 'admin' });
    // The answer is refused and dropped: the server's request never gets it.
    await expect(server.listRoots(undefined, { timeout: 300 })).rejects.toThrow(/timed out/i);
    expect(
      core.audit.saved.filter((r) => r.kind === 'decision' && r.method === 'transport/response').map((r) => r.allow),
    ).toEqual([true, false]);
    await client.close();
    await server.close();
  });

  it('a client asking for a stateless protocol revision cannot opt out of the session the server keeps', async () => {
    const { clientSide, server } = await lowLevelPair(
      { warden: inProcessWarden(core.deps, PEP), token: () => token },
      'mem-2',
    );
    const answers: JSONRPCMessage[] = [];
    clientSide.onmessage = (message) => void answers.push(message);
    await clientSide.start();
    const init = { protocolVersion: '2026-07-28', capabilities: {}, clientInfo: { name: 'raw', version: '0' } };
    await clientSide.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: init });
    await expect.poll(() => answers.length).toBe(1);
    // The server answered an older revision, so this is a legacy session and is bound.
    expect(answers[0]).toMatchObject({ id: 1, result: { protocolVersion: '2025-11-25' } });
    expect(core.audit.saved.filter((r) => r.kind === 'session.created')).toHaveLength(1);
    await clientSide.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'fs_read', arguments: { path: '/srv/data/a' } },
    });
    await expect.poll(() => answers.length).toBe(2);
    const call = core.audit.saved.filter((r) => r.kind === 'decision' && r.method === 'tools/call');
    expect(call.at(-1)?.session).toMatch(/^[0-9a-f]{64}$/);
    await server.close();
  });

  it('a request on a legacy session that states a 2026-07-28 version is refused before any decision', async () => {
    const { calls, clientSide, server } = await lowLevelPair(
      { warden: inProcessWarden(core.deps, PEP), token: () => token },
      'mem-4',
    );
    const answers: JSONRPCMessage[] = [];
    clientSide.onmessage = (message) => void answers.push(message);
    await clientSide.start();
    const init = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } };
    await clientSide.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: init });
    await expect.poll(() => answers.length).toBe(1);
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };
    const args = { path: '/srv/data/a' };
    await clientSide.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'fs_read', arguments: args, _meta: meta },
    });
    await expect.poll(() => answers.length).toBe(2);
    // As the proxy judges it (src/pep/era.ts): a modern request, and in this era a session is state nobody checks.
    expect(answers[1]).toMatchObject({
      id: 2,
      error: { code: -32600, data: { reasons: [{ code: 'invalid_request' }] } },
    });
    expect((answers[1] as { error: { message: string } }).error.message).toMatch(/may not carry an Mcp-Session-Id/);
    expect(calls).toEqual([]);
    expect(core.audit.saved.some((r) => r.kind === 'decision' && r.method === 'tools/call')).toBe(false);
    await server.close();
  });

  it('fails closed: a warden client whose service is down refuses initialize with pdp_unavailable', async () => {
    const port = await freePort();
    const warden = createWardenClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 500 });
    const { calls, clientSide, server } = await lowLevelPair({ warden, token: () => token }, 'mem-3');
    const client = new Client({ name: 'c', version: '1.0.0' });
    expect(await refusalCodes(client.connect(clientSide))).toEqual(['pdp_unavailable']);
    expect(calls).toEqual([]);
    await server.close();
    await warden.close();
  });

  it('refuses to build without a warden or a server id', () => {
    const [, serverSide] = InMemoryTransport.createLinkedPair();
    expect(() => guardTransport(serverSide, { server: SERVER } as GuardOptions)).toThrow(TypeError);
    expect(() => guardTransport(serverSide, { warden: inProcessWarden(core.deps, PEP), server: '' })).toThrow(
      TypeError,
    );
  });
});
