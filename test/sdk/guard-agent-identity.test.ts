import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustDomainConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { refusalCodes, startGuardedSdkServer, type GuardedSdkServer } from '../helpers/sdk-server.ts';
import { createTestKey, signToken, type TestKey } from '../helpers/tokens.ts';

// The guard reads the agent's JWT-SVID from the Agent-Identity header, as the proxy does,
// and the session it creates is bound to the chain the SVID joined.
const AGENT = 'spiffe://example.org/agents/researcher';

describe('the guard passes the Agent-Identity JWT-SVID', () => {
  let core: TestCore;
  let spire: TestKey;
  let server: GuardedSdkServer;
  beforeAll(async () => {
    core = await createTestCore();
    spire = await createTestKey('ES256', 'spire-1');
    core.deps = {
      ...core.deps,
      verifier: createTokenVerifier({
        issuers: [core.idp.issuer],
        trustDomains: [
          trustDomainConfigSchema.parse({ trust_domain: 'example.org', jwks: { keys: [spire.publicJwk] } }),
        ],
        cacheSize: 100,
        maxTokenBytes: 8192,
        now: core.clock.read,
      }),
    };
    server = await startGuardedSdkServer(inProcessWarden(core.deps, PEP));
  });
  afterAll(() => server?.close());

  const svid = (key = spire) =>
    signToken(key, {}, { now: core.clock.now, issuer: null, subject: AGENT, header: { typ: 'JWT' } });
  async function connect(token: string, agentIdentity?: string, sessionId?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (agentIdentity !== undefined) headers['agent-identity'] = agentIdentity;
    const transport = new StreamableHTTPClientTransport(server.url, { requestInit: { headers }, sessionId });
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(transport);
    return { client, sessionId: transport.sessionId };
  }
  const read = (client: Client) => client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } });

  it('binds the session to the attested agent; the token without it, or with a forged one, is refused', async () => {
    const token = await core.idp.mint({ roles: ['reader'] }, { subject: 'alice', expiresIn: 3600 });
    const agent = await connect(token, await svid());
    await read(agent.client);
    expect(server.calls.filter((c) => c === 'fs_read')).toHaveLength(1);
    const created = core.audit.saved.find((r) => r.kind === 'session.created')!;
    expect(created.principal?.actor).toEqual([
      { iss: 'spiffe://example.org', sub: AGENT, client_id: null, spiffe_id: AGENT, attested: true },
    ]);
    const record = await core.sessions.get(created.session!);
    expect(record?.owner.actor).toEqual([
      { iss: 'spiffe://example.org', sub: AGENT, client_id: null, spiffe_id: AGENT },
    ]);
    expect(created.session).not.toBe(hashSessionId(agent.sessionId!));

    const bare = await connect(token, undefined, agent.sessionId);
    expect(await refusalCodes(read(bare.client))).toEqual(['session_owner_mismatch']);
    const forged = await connect(token, await svid(await createTestKey('ES256', 'spire-1')), agent.sessionId);
    expect(await refusalCodes(read(forged.client))).toEqual(['agent_identity_invalid']);
    expect(server.calls.filter((c) => c === 'fs_read')).toHaveLength(1);
    await agent.client.close();
  });
});
