import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORBIDDEN_CODE } from '../../src/sdk/guard.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import {
  connectClient,
  refusalOf as refusal,
  startGuardedSdkServer,
  type GuardedSdkServer,
  type RefusalData,
} from '../helpers/sdk-server.ts';

const codes = (err: { data: RefusalData }) => err.data.reasons.map((r) => r.code);

describe('guardTransport over Streamable HTTP: requests', () => {
  let core: TestCore;
  let server: GuardedSdkServer;
  let reader: Client;
  let writer: Client;
  const clients: Client[] = [];

  beforeAll(async () => {
    core = await createTestCore();
    server = await startGuardedSdkServer(inProcessWarden(core.deps, PEP));
    const mint = (sub: string, roles: string[]) => core.idp.mint({ roles }, { subject: sub, expiresIn: 7200 });
    reader = await connectClient(server.url, await mint('alice', ['reader']));
    writer = await connectClient(server.url, await mint('walt', ['writer']));
    clients.push(reader, writer);
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await server.close();
  });

  it('an allowed call reaches the tool and returns its result', async () => {
    const result = await reader.callTool({ name: 'fs_read', arguments: { path: '/srv/data/notes.txt' } });
    expect(result.content).toEqual([{ type: 'text', text: 'fs_read /srv/data/notes.txt' }]);
    expect(server.calls).toContain('fs_read');
  });

  it('a denied call is answered by the guard with -32003, the reason codes and the decision id', async () => {
    const before = server.calls.length;
    const err = await refusal(reader.callTool({ name: 'fs_read', arguments: { path: '/etc/passwd' } }));
    expect(err.code).toBe(FORBIDDEN_CODE);
    expect(err.message).toMatch(/Forbidden: argument 'path' must start with one of: \/srv\/data\//);
    expect(codes(err)).toEqual(['argument_not_allowed']);
    expect(err.data.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    const record = core.audit.saved.find((r) => r.decision_id === err.data.decision_id);
    expect(record).toMatchObject({ kind: 'decision', allow: false, tool: 'fs_read' });
    expect(server.calls.length).toBe(before);
  });

  it('a tool the principal may not call never runs, whatever its arguments', async () => {
    const err = await refusal(reader.callTool({ name: 'fs_write', arguments: { path: '/srv/data/x' } }));
    expect(codes(err)).toContain('tool_not_permitted');
    const unknown = await refusal(writer.callTool({ name: 'debug_eval', arguments: { path: '/srv/data/x' } }));
    expect(codes(unknown)).toContain('tool_unknown');
    expect(server.calls).not.toContain('fs_write');
    expect(server.calls).not.toContain('debug_eval');
  });

  it('tools/list is filtered per principal, and never shows a tool the policy does not know', async () => {
    const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();
    expect(await names(reader)).toEqual(['fs_list', 'fs_read', 'search_docs']);
    // fs_delete is destructive: outside a writer's role and outside the session's scope.
    expect(await names(writer)).toEqual(['fs_list', 'fs_read', 'fs_write', 'search_docs']);
  });

  it('prompts/list and resources/list are filtered too', async () => {
    const prompts = async (client: Client) => (await client.listPrompts()).prompts.map((p) => p.name).sort();
    expect(await prompts(reader)).toEqual(['summarize']);
    expect(await prompts(writer)).toEqual(['review_changes', 'summarize']);
    const resources = (await reader.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(['file:///srv/data/readme.txt']);
    const err = await refusal(reader.readResource({ uri: 'file:///etc/passwd' }));
    expect(codes(err)).toEqual(['resource_not_permitted']);
  });

  it('a prompt outside the role is refused before the server renders it', async () => {
    const err = await refusal(reader.getPrompt({ name: 'review_changes' }));
    expect(codes(err)).toEqual(['prompt_not_permitted']);
    expect((await writer.getPrompt({ name: 'review_changes' })).messages).toHaveLength(1);
  });

  it('a client without a token cannot even initialize (token_missing)', async () => {
    const err = await refusal(connectClient(server.url, undefined));
    expect(err.code).toBe(FORBIDDEN_CODE);
    expect(codes(err)).toEqual(['token_missing']);
  });

  it('a token for another audience is refused at initialize', async () => {
    const token = await core.idp.mint(
      { roles: ['reader'] },
      { audience: 'https://other.example.com', expiresIn: 7200 },
    );
    const err = await refusal(connectClient(server.url, token));
    expect(codes(err)).toEqual(['audience_mismatch']);
  });

  it('client notifications are decided too (notifications/initialized is allowed by the default policy)', () => {
    const initialized = core.audit.saved.filter(
      (r) => r.kind === 'decision' && r.method === 'notifications/initialized',
    );
    expect(initialized.length).toBeGreaterThanOrEqual(2);
    expect(initialized.every((r) => r.allow === true)).toBe(true);
  });

  it('each session gets a warden session at initialize; its id never reaches the client', () => {
    const created = core.audit.saved.filter((r) => r.kind === 'session.created');
    expect(created.length).toBeGreaterThanOrEqual(2);
    for (const sid of server.sessions.keys()) expect(sid).not.toMatch(/^mws_/);
    const calls = core.audit.saved.filter((r) => r.kind === 'decision' && r.method === 'tools/call');
    expect(calls.every((r) => typeof r.session === 'string' && r.session.length === 64)).toBe(true);
  });

  // Run last: it compares every handler run of this file with the audit trail.
  it('no tool handler ran without an allowing, audited decision', async () => {
    await reader.callTool({ name: 'fs_list', arguments: { path: '/srv/data/' } });
    await writer.callTool({ name: 'fs_write', arguments: { path: '/srv/data/w.txt' } });
    await refusal(writer.callTool({ name: 'fs_delete', arguments: { path: '/srv/data/w.txt' } }));
    const allowed = core.audit.saved
      .filter((r) => r.kind === 'decision' && r.method === 'tools/call' && r.allow === true)
      .map((r) => r.tool)
      .sort();
    expect(server.calls.length).toBeGreaterThanOrEqual(3);
    expect([...server.calls].sort()).toEqual(allowed);
  });
});
