import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { startAuthorizationServer, type AuthorizationServer } from '../helpers/oidc-provider.ts';
import { filesServer } from '../helpers/files-server.ts';
import { startSdkUpstream, type SdkUpstream } from '../helpers/sdk-upstream.ts';
import { startWardenStack, type WardenStack } from '../helpers/warden-stack.ts';

// Human approval of a destructive call, end to end: a real authorization server
// (oidc-provider) issues every token, the default policy parks a writer's fs_delete for an
// admin, the proxy delivers it as a URL elicitation to the MCP SDK client, an approver
// grants it through the API, and a counting tap shows what reached the upstream.
const SERVER = 'https://mcp.example.com/files';
const PAGE = 'https://warden.example/approvals';
const AGENT = 'agent-app';

let as: AuthorizationServer;
let upstream: SdkUpstream;
let tap: CountingTap;
let stack: WardenStack;
let serviceUrl: string;
let proxyUrl: string;
let adminKey: string;

beforeAll(async () => {
  as = await startAuthorizationServer({
    clients: [{ client_id: AGENT, redirect_uris: ['http://127.0.0.1:1/callback'] }],
    resources: [SERVER],
    roles: { alice: ['writer'], bob: ['admin'], dave: ['writer'] },
  });
  upstream = await startSdkUpstream(filesServer);
  tap = await startCountingTap(upstream.url);
  stack = await startWardenStack({
    issuer: as.issuer,
    resource: SERVER,
    upstreamUrl: tap.url,
    overrides: { approvals: { page_url: PAGE } },
  });
  serviceUrl = stack.serviceUrl;
  proxyUrl = stack.proxyUrl;
  adminKey = stack.adminKey;
});
afterAll(async () => {
  await stack?.stop();
  await tap?.stop();
  await upstream?.close();
  await as?.stop();
});
beforeEach(() => tap.reset());

const tokenOf = (user: string) => as.signIn({ user, clientId: AGENT, resource: SERVER, scope: 'openid mcp:read' });

async function connect(user: string, capabilities: Record<string, unknown>): Promise<Client> {
  const token = await tokenOf(user);
  const transport = new StreamableHTTPClientTransport(new URL(proxyUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'e2e-approvals', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return client;
}

const remove = (client: Client, path = '/srv/data/report.txt') =>
  client.callTool({ name: 'fs_delete', arguments: { path } });

async function refusal(promise: Promise<unknown>): Promise<McpError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

interface Elicited {
  readonly elicitations: { mode: string; elicitationId: string; url: string; message: string }[];
  readonly approval: { id: string; url: string };
  readonly reasons: { code: string }[];
}

async function decideApproval(id: string, token: string, decision: 'grant' | 'deny') {
  const res = await fetch(`${serviceUrl}/v1/approvals/${id}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token, decision, note: 'checked the ticket' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function auditKinds(kind: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${serviceUrl}/v1/audit?kind=${kind}&limit=100`, {
    headers: { authorization: `Bearer ${adminKey}` },
  });
  return ((await res.json()) as { records: Record<string, unknown>[] }).records;
}

describe('a destructive call approved by a second principal, through the proxy', () => {
  it('parks the call as a URL elicitation, allows the approved retry once, and parks the same call again', async () => {
    const alice = await connect('alice', { elicitation: { form: {}, url: {} } });
    const parked = await refusal(remove(alice));
    expect(parked.code).toBe(-32042);
    // The SDK keeps the elicitations of a -32042 (URLElicitationRequiredError); the id is the approval's.
    const data = parked.data as Elicited;
    const id = data.elicitations[0]!.elicitationId;
    expect(id).toMatch(/^mwa_[A-Za-z0-9_-]{43}$/);
    expect(data.elicitations).toEqual([
      { mode: 'url', elicitationId: id, url: `${PAGE}/${id}`, message: expect.stringContaining('admin') },
    ]);
    expect(tap.counts()['tools/call:fs_delete']).toBeUndefined();

    // The requester cannot approve its own call; bob, an admin, can.
    const own = await decideApproval(id, await tokenOf('alice'), 'grant');
    expect(own).toMatchObject({ status: 403, body: { code: 'approval_forbidden' } });
    const granted = await decideApproval(id, await tokenOf('bob'), 'grant');
    expect(granted).toMatchObject({
      status: 200,
      body: {
        state: 'granted',
        tool: 'fs_delete',
        requester: { sub: 'alice', client_id: AGENT },
        decided_by: { sub: 'bob' },
      },
    });

    const done = await remove(alice);
    expect(done.content).toEqual([{ type: 'text', text: 'deleted /srv/data/report.txt' }]);
    expect(tap.counts()['tools/call:fs_delete']).toBe(1);

    const again = await refusal(remove(alice));
    expect(again.code).toBe(-32042);
    expect((again.data as Elicited).elicitations[0]!.elicitationId).not.toBe(id);
    expect(tap.counts()['tools/call:fs_delete']).toBe(1);

    const consumed = (await auditKinds('approval.consumed')).filter(
      (r) => (r.detail as { approval: string }).approval === id,
    );
    expect(consumed).toHaveLength(1);
    expect(consumed[0]).toMatchObject({ principal: { sub: 'alice' }, allow: true });
    expect((await auditKinds('approval.granted')).some((r) => (r.detail as { approval: string }).approval === id)).toBe(
      true,
    );
    await alice.close();
  });

  it('does not let a grant cover another argument, another session or another principal', async () => {
    const alice = await connect('alice', { elicitation: { url: {} } });
    const id = ((await refusal(remove(alice, '/srv/data/one.txt'))).data as Elicited).elicitations[0]!.elicitationId;
    expect((await decideApproval(id, await tokenOf('bob'), 'grant')).status).toBe(200);
    expect((await refusal(remove(alice, '/srv/data/two.txt'))).code).toBe(-32042);
    const otherSession = await connect('alice', { elicitation: { url: {} } });
    expect((await refusal(remove(otherSession, '/srv/data/one.txt'))).code).toBe(-32042);
    const dave = await connect('dave', { elicitation: { url: {} } });
    expect((await refusal(remove(dave, '/srv/data/one.txt'))).code).toBe(-32042);
    expect(tap.counts()['tools/call:fs_delete']).toBeUndefined();
    // The exact call, in its own session, still has its grant.
    await remove(alice, '/srv/data/one.txt');
    expect(tap.counts()['tools/call:fs_delete']).toBe(1);
    for (const client of [alice, otherSession, dave]) await client.close();
  });

  it('refuses an approver without the role, and tells a client without URL elicitation the approval id', async () => {
    const dave = await connect('dave', {});
    const denied = await refusal(remove(dave));
    expect(denied.code).toBe(-32003);
    const data = denied.data as Elicited;
    expect(data.reasons.map((r) => r.code)).toEqual(['approval_required']);
    expect(data.approval.id).toMatch(/^mwa_/);
    expect(data).not.toHaveProperty('elicitations');
    const writer = await decideApproval(data.approval.id, await tokenOf('alice'), 'grant');
    expect(writer).toMatchObject({ status: 403, body: { code: 'approval_forbidden' } });
    // An admin API key alone decides nothing: the body must carry the approver's token.
    const keyOnly = await fetch(`${serviceUrl}/v1/approvals/${data.approval.id}/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'grant' }),
    });
    expect(keyOnly.status).toBe(400);
    const pending = await fetch(`${serviceUrl}/v1/approvals?state=pending`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const list = (await pending.json()) as { approvals: { id: string; requester: { sub: string } }[] };
    expect(list.approvals.find((a) => a.id === data.approval.id)).toMatchObject({ requester: { sub: 'dave' } });
    expect(tap.counts()['tools/call:fs_delete']).toBeUndefined();
    await dave.close();
  });
});
