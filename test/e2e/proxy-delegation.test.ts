import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { startAuthorizationServer, TOKEN_EXCHANGE, type AuthorizationServer } from '../helpers/oidc-provider.ts';
import { startSdkUpstream, type SdkUpstream } from '../helpers/sdk-upstream.ts';
import { createTestKey, signToken, type TestKey } from '../helpers/tokens.ts';
import { startWardenStack, type WardenStack } from '../helpers/warden-stack.ts';

// Delegated identity end to end: oidc-provider signs alice in and performs the RFC 8693
// token exchanges that give her agents their tokens (with `act`); the MCP SDK client of
// each agent goes through the proxy to an SDK upstream behind a counting tap, and the
// service's audit API shows what was recorded.
const SERVER = 'https://mcp.example.com/files';
const APP = 'alice-app';
const RESEARCHER = { clientId: 'researcher', secret: 'researcher-secret-0123456789abcdef' };
const MAILER = { clientId: 'mailer', secret: 'mailer-secret-0123456789abcdef' };
const AGENT_SVID = 'spiffe://example.org/agents/researcher';

let as: AuthorizationServer;
let upstream: SdkUpstream;
let tap: CountingTap;
let stack: WardenStack;
let spire: TestKey;

function files(): McpServer {
  const server = new McpServer({ name: 'files', version: '1.0.0' });
  server.registerTool('fs_read', { inputSchema: { path: z.string() } }, async ({ path }) => ({
    content: [{ type: 'text', text: `read ${path}` }],
  }));
  return server;
}

beforeAll(async () => {
  as = await startAuthorizationServer({
    clients: [
      { client_id: APP, redirect_uris: ['http://127.0.0.1:1/callback'] },
      {
        client_id: RESEARCHER.clientId,
        client_secret: RESEARCHER.secret,
        redirect_uris: [],
        grant_types: [TOKEN_EXCHANGE],
      },
      { client_id: MAILER.clientId, client_secret: MAILER.secret, redirect_uris: [], grant_types: [TOKEN_EXCHANGE] },
    ],
    resources: [SERVER],
    roles: { alice: ['reader'] },
    tokenExchange: true,
  });
  spire = await createTestKey('ES256', 'spire-1');
  upstream = await startSdkUpstream(files);
  tap = await startCountingTap(upstream.url);
  stack = await startWardenStack({
    issuer: as.issuer,
    resource: SERVER,
    upstreamUrl: tap.url,
    overrides: {
      identity: {
        spiffe: { trust_domains: [{ trust_domain: 'example.org', jwks: { keys: [spire.publicJwk] } }] },
        delegation: { max_depth: 2 },
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await tap?.stop();
  await upstream?.close();
  await as?.stop();
});
beforeEach(() => tap.reset());

const aliceToken = () => as.signIn({ user: 'alice', clientId: APP, resource: SERVER, scope: 'openid mcp:read' });
const exchange = (agent: typeof RESEARCHER, subjectToken: string) =>
  as.exchange({ ...agent, subjectToken, resource: SERVER, scope: 'mcp:read' });
const svid = () => signToken(spire, {}, { now: Date.now(), issuer: null, subject: AGENT_SVID, header: { typ: 'JWT' } });

/** An MCP client through the proxy with `token` (and an Agent-Identity), joining `sessionId` if given. */
async function connect(token: string, options: { agentIdentity?: string; sessionId?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.agentIdentity !== undefined) headers['agent-identity'] = options.agentIdentity;
  const transport = new StreamableHTTPClientTransport(new URL(stack.proxyUrl), {
    requestInit: { headers },
    ...(options.sessionId === undefined ? {} : { sessionId: options.sessionId }),
  });
  const client = new Client({ name: 'e2e-delegation', version: '1.0.0' });
  await client.connect(transport);
  return { client, sessionId: transport.sessionId };
}

const read = (client: Client) => client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a.txt' } });

interface Recorded {
  kind: string;
  allow: boolean | null;
  reasons: { code: string }[];
  principal: { sub: string; client_id: string | null; actor?: { sub: string; attested?: true }[] } | null;
}
const audit = async (query: string) =>
  (await stack.admin<{ records: Recorded[] }>(`/v1/audit?${query}&limit=500`)).records;

describe('agents acting for alice, with tokens from a real token exchange, through the proxy', () => {
  it("binds the agent's session to (alice, its chain): alice herself and another agent are refused", async () => {
    const alice = await aliceToken();
    const researcher = await exchange(RESEARCHER, alice);
    expect(decodeJwt(researcher)).toMatchObject({ sub: 'alice', client_id: 'researcher', act: { sub: 'researcher' } });
    const agent = await connect(researcher);
    expect(agent.sessionId).toBeDefined();
    expect((await read(agent.client)).content).toEqual([{ type: 'text', text: 'read /srv/data/a.txt' }]);
    expect(tap.counts()['tools/call:fs_read']).toBe(1);

    // alice's own token, and the mailer agent's token for alice, replay the agent's session.
    const mailer = await exchange(MAILER, alice);
    for (const token of [alice, mailer]) {
      const replay = await connect(token, { sessionId: agent.sessionId! });
      await expect(read(replay.client)).rejects.toThrow();
    }
    expect(tap.counts()['tools/call:fs_read']).toBe(1);
    const mismatches = await audit('kind=session.owner_mismatch&subject=alice');
    expect(mismatches.map((r) => r.principal?.client_id).sort()).toEqual(['alice-app', 'mailer']);
    expect(mismatches.find((r) => r.principal?.client_id === 'mailer')!.principal!.actor).toEqual([
      expect.objectContaining({ sub: 'mailer', iss: as.issuer }),
    ]);

    // The agent itself goes on; every record its tokens made names the chain.
    expect((await read(agent.client)).content).toBeDefined();
    expect(tap.counts()['tools/call:fs_read']).toBe(2);
    const ofResearcher = (await audit('subject=alice&client_id=researcher')).filter((r) => r.principal !== null);
    expect(ofResearcher.map((r) => r.kind)).toEqual(expect.arrayContaining(['session.created', 'decision']));
    for (const record of ofResearcher) {
      expect(record.principal!.actor, record.kind).toEqual([expect.objectContaining({ sub: 'researcher' })]);
    }
    await agent.client.close();
  });

  it('accepts a chain as deep as identity.delegation.max_depth, refuses a deeper one before the upstream', async () => {
    const researcher = await exchange(RESEARCHER, await aliceToken());
    // The mailer acts for the researcher acting for alice: two hops.
    const relayed = await exchange(MAILER, researcher);
    expect(decodeJwt(relayed).act).toEqual({ sub: 'mailer', act: { sub: 'researcher' } });
    const two = await connect(relayed);
    expect((await read(two.client)).content).toBeDefined();
    await two.client.close();
    const three = await exchange(RESEARCHER, relayed);
    tap.reset();
    await expect(connect(three)).rejects.toThrow();
    expect(tap.counts()).toEqual({});
    const refused = (await audit('kind=decision&subject=alice')).filter((r) =>
      r.reasons.some((reason) => reason.code === 'delegation_too_deep'),
    );
    expect(refused.length).toBeGreaterThan(0);
  });

  it("joins the agent's Agent-Identity JWT-SVID to the chain: its session needs it again", async () => {
    const researcher = await exchange(RESEARCHER, await aliceToken());
    const attested = await connect(researcher, { agentIdentity: await svid() });
    expect((await read(attested.client)).content).toBeDefined();
    expect(tap.counts()['tools/call:fs_read']).toBe(1);
    // The same token without the agent's identity is another chain.
    const bare = await connect(researcher, { sessionId: attested.sessionId! });
    await expect(read(bare.client)).rejects.toThrow();
    // A forged agent identity is refused as such.
    const forged = signToken(
      await createTestKey('ES256', 'spire-1'),
      {},
      {
        now: Date.now(),
        issuer: null,
        subject: AGENT_SVID,
        header: { typ: 'JWT' },
      },
    );
    const impostor = await connect(researcher, { agentIdentity: await forged, sessionId: attested.sessionId! });
    await expect(read(impostor.client)).rejects.toThrow();
    expect(tap.counts()['tools/call:fs_read']).toBe(1);
    const decisions = await audit('kind=decision&subject=alice&client_id=researcher');
    expect(decisions.some((r) => r.reasons.some((reason) => reason.code === 'agent_identity_invalid'))).toBe(true);
    const allowed = decisions.filter((r) => r.allow === true).at(-1)!;
    expect(allowed.principal!.actor).toEqual([
      expect.objectContaining({ sub: AGENT_SVID, attested: true }),
      expect.objectContaining({ sub: 'researcher' }),
    ]);
    await attested.client.close();
  });
});
