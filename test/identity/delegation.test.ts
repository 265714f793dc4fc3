import { beforeAll, describe, expect, it } from 'vitest';
import { issuerConfigSchema, trustDomainConfigSchema } from '../../src/config/identity.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { createTestKey, ISSUER, SERVER, signToken, type TestKey } from '../helpers/tokens.ts';

const now = Date.UTC(2026, 11, 3, 12);
const AGENT = 'spiffe://example.org/agents/researcher';
const OTHER_AGENT = 'spiffe://example.org/agents/mailer';

describe('delegated identity: actor chains, may_act, agent identities, ID-JAGs', () => {
  let idpKey: TestKey;
  let svidKey: TestKey;
  let strangerKey: TestKey;
  const verifierWith = (maxActorDepth?: number) =>
    createTokenVerifier({
      issuers: [issuerConfigSchema.parse({ issuer: ISSUER, jwks: { keys: [idpKey.publicJwk] } })],
      trustDomains: [
        trustDomainConfigSchema.parse({ trust_domain: 'example.org', jwks: { keys: [svidKey.publicJwk] } }),
      ],
      servers: [SERVER],
      cacheSize: 10,
      maxTokenBytes: 8192,
      now: () => now,
      ...(maxActorDepth === undefined ? {} : { maxActorDepth }),
    });
  const token = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    signToken(idpKey, { client_id: 'agent-app', ...claims }, { now, header });
  const svid = (sub: string, key = svidKey, audience = SERVER) =>
    signToken(key, {}, { now, issuer: null, subject: sub, audience, header: { typ: 'JWT' } });
  /** An `act` claim nesting `depth` actors, the most recent (`agent-1`) outermost. */
  const chainOf = (depth: number): Record<string, unknown> | undefined => {
    let act: Record<string, unknown> | undefined;
    for (let i = depth; i >= 1; i--) act = { sub: `agent-${i}`, ...(act === undefined ? {} : { act }) };
    return act;
  };

  beforeAll(async () => {
    idpKey = await createTestKey('ES256', 'idp-1');
    svidKey = await createTestKey('ES256', 'spire-1');
    strangerKey = await createTestKey('ES256', 'spire-1');
  });

  it('turns nested act claims into principal.actor, the most recent actor first', async () => {
    const principal = await verifierWith().identify(
      {
        token: await token({
          act: { sub: 'researcher', client_id: 'agent-app', act: { sub: AGENT, iss: 'https://other.example' } },
        }),
      },
      SERVER,
    );
    expect(principal.sub).toBe('alice');
    expect(principal.actor).toEqual([
      { iss: ISSUER, sub: 'researcher', client_id: 'agent-app', spiffe_id: null, attested: false },
      { iss: 'https://other.example', sub: AGENT, client_id: null, spiffe_id: AGENT, attested: false },
    ]);
    const own = await verifierWith().identify({ token: await token({}) }, SERVER);
    expect(own.actor).toEqual([]);
    expect(own.may_act).toBeNull();
  });

  it('caps the chain depth: at the limit it passes, one more is refused delegation_too_deep', async () => {
    const verifier = verifierWith(2);
    await expect(verifier.identify({ token: await token({ act: chainOf(2) }) }, SERVER)).resolves.toMatchObject({
      actor: [{ sub: 'agent-1' }, { sub: 'agent-2' }],
    });
    await expect(verifier.identify({ token: await token({ act: chainOf(3) }) }, SERVER)).rejects.toMatchObject({
      code: 'delegation_too_deep',
    });
    await expect(verifierWith(0).identify({ token: await token({ act: chainOf(1) }) }, SERVER)).rejects.toMatchObject({
      code: 'delegation_too_deep',
    });
    // The default is 3.
    await expect(verifierWith().identify({ token: await token({ act: chainOf(4) }) }, SERVER)).rejects.toMatchObject({
      code: 'delegation_too_deep',
    });
  });

  it('refuses malformed act and may_act claims, naming the claim', async () => {
    const verifier = verifierWith();
    for (const act of ['researcher', ['researcher'], { client_id: 'x' }, { sub: '' }, { sub: 7 }]) {
      await expect(verifier.identify({ token: await token({ act }) }, SERVER)).rejects.toMatchObject({
        code: 'claim_invalid',
        message: expect.stringMatching(/act/),
      });
    }
    await expect(
      verifier.identify({ token: await token({ act: { sub: 'a', act: { sub: 'b', act: 'c' } } }) }, SERVER),
    ).rejects.toMatchObject({ code: 'claim_invalid' });
    for (const mayAct of ['researcher', {}, { iss: ISSUER }, { sub: 1 }]) {
      await expect(verifier.identify({ token: await token({ may_act: mayAct }) }, SERVER)).rejects.toMatchObject({
        code: 'claim_invalid',
        message: expect.stringMatching(/may_act/),
      });
    }
  });

  it('honours may_act: the most recent actor must be the one it names', async () => {
    const verifier = verifierWith();
    const mayAct = { sub: 'researcher', client_id: 'agent-app' };
    await expect(
      verifier.identify(
        { token: await token({ may_act: mayAct, act: { sub: 'researcher', client_id: 'agent-app' } }) },
        SERVER,
      ),
    ).resolves.toMatchObject({ may_act: mayAct, actor: [{ sub: 'researcher' }] });
    await expect(
      verifier.identify({ token: await token({ may_act: mayAct, act: { sub: 'mallory' } }) }, SERVER),
    ).rejects.toMatchObject({ code: 'actor_not_permitted' });
    await expect(
      verifier.identify({ token: await token({ may_act: mayAct, act: { sub: 'researcher' } }) }, SERVER),
    ).rejects.toMatchObject({ code: 'actor_not_permitted' });
    // An agent identity beside a may_act token is the most recent actor, and is checked too.
    const forAgent = await token({ may_act: { sub: AGENT } });
    await expect(verifier.identify({ token: forAgent, agent_token: await svid(AGENT) }, SERVER)).resolves.toMatchObject(
      { actor: [{ sub: AGENT, attested: true }] },
    );
    await expect(
      verifier.identify({ token: forAgent, agent_token: await svid(OTHER_AGENT) }, SERVER),
    ).rejects.toMatchObject({ code: 'actor_not_permitted' });
    // Without an actor the subject acts itself: may_act permits, it does not require.
    await expect(verifier.identify({ token: forAgent }, SERVER)).resolves.toMatchObject({ actor: [] });
  });

  it('joins an agent JWT-SVID: attests the actor act names, else becomes the most recent actor', async () => {
    const verifier = verifierWith();
    const named = await verifier.identify(
      { token: await token({ act: { sub: AGENT } }), agent_token: await svid(AGENT) },
      SERVER,
    );
    expect(named.actor).toEqual([{ iss: ISSUER, sub: AGENT, client_id: null, spiffe_id: AGENT, attested: true }]);
    const added = await verifier.identify(
      { token: await token({ act: { sub: 'researcher' } }), agent_token: await svid(OTHER_AGENT) },
      SERVER,
    );
    expect(added.actor).toEqual([
      { iss: 'spiffe://example.org', sub: OTHER_AGENT, client_id: null, spiffe_id: OTHER_AGENT, attested: true },
      { iss: ISSUER, sub: 'researcher', client_id: null, spiffe_id: null, attested: false },
    ]);
    // The agent's identity counts against the depth too.
    await expect(
      verifierWith(1).identify(
        { token: await token({ act: { sub: 'researcher' } }), agent_token: await svid(AGENT) },
        SERVER,
      ),
    ).rejects.toMatchObject({ code: 'delegation_too_deep' });
  });

  it('checks the agent identity like any JWT-SVID, and refuses anything else as agent_identity_invalid', async () => {
    const verifier = verifierWith();
    const user = await token({});
    const refusals: [string, RegExp][] = [
      [await svid(AGENT, strangerKey), /signature_invalid/],
      [await svid(AGENT, svidKey, 'https://mcp.example.com/other'), /audience_mismatch/],
      [await svid('spiffe://evil.org/agent'), /trust_domain_untrusted/],
      [await token({ sub: 'bob' }), /JWT-SVID/],
      ['not-a-jwt', /invalid_token/],
    ];
    for (const [agent, why] of refusals) {
      await expect(verifier.identify({ token: user, agent_token: agent }, SERVER)).rejects.toMatchObject({
        code: 'agent_identity_invalid',
        message: expect.stringMatching(why),
      });
    }
  });

  it('refuses an ID-JAG presented as an access token, saying what it is', async () => {
    const verifier = verifierWith();
    for (const typ of ['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt', 'OAuth-ID-JAG+JWT']) {
      const jag = await token({ client_id: 'agent-app', jti: 'j1' }, { typ });
      await expect(verifier.identify({ token: jag }, SERVER)).rejects.toMatchObject({
        code: 'id_jag_not_access_token',
        message: expect.stringMatching(/Identity Assertion JWT Authorization Grant.*exchange/),
      });
      await expect(verifier.identify({ token: await token({}), agent_token: jag }, SERVER)).rejects.toMatchObject({
        code: 'agent_identity_invalid',
        message: expect.stringMatching(/id_jag_not_access_token/),
      });
    }
  });
});
