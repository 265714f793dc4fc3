import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthorizationServer, startAuthorizationServer, TOKEN_EXCHANGE } from './oidc-provider.ts';

// RFC 8693 token exchange on the helper's real authorization server (oidc-provider): an agent
// trades a user's token for one to another resource that names the agent as the actor (`act`),
// a second agent builds a delegation chain, and every refusal the grant owes is checked.
const FILES = 'https://mcp.example.com/files';
const MAIL = 'https://mcp.example.com/mail';
const APP = 'web-app';
const agents = { agent: 'agent secret', agent2: 'agent2 secret' } as const;

let as: AuthorizationServer;
let verify: (token: string) => ReturnType<typeof jwtVerify>;

beforeAll(async () => {
  const exchanging = ['client_credentials', TOKEN_EXCHANGE];
  as = await startAuthorizationServer({
    clients: [
      { client_id: APP, redirect_uris: ['http://127.0.0.1:1/callback'] },
      ...Object.entries(agents).map(([id, secret]) => ({
        client_id: id,
        redirect_uris: [],
        client_secret: secret,
        grant_types: exchanging,
      })),
      { client_id: 'plain', redirect_uris: ['http://127.0.0.1:1/plain'], client_secret: 'plain secret' },
    ],
    resources: [FILES, MAIL],
    roles: { alice: ['writer'], carol: ['admin'] },
    tokenExchange: true,
    mayAct: { carol: { sub: 'agent' } },
  });
  const discovery = (await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
    grant_types_supported: string[];
  };
  expect(discovery.grant_types_supported).toContain(TOKEN_EXCHANGE);
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  verify = (token) => jwtVerify(token, jwks, { issuer: as.issuer, typ: 'at+jwt', algorithms: ['ES256'] });
});

afterAll(() => as.stop());

const signIn = (user: string) =>
  as.signIn({ user, clientId: APP, resource: FILES, scope: 'openid mcp:read mcp:write' });
const exchange = (
  clientId: keyof typeof agents,
  subjectToken: string,
  more: { actorToken?: string; scope?: string } = {},
) => as.exchange({ clientId, secret: agents[clientId], subjectToken, resource: MAIL, ...more });

describe('token exchange (RFC 8693) on the real authorization server', () => {
  it('gives the agent a token for another resource that keeps the user as sub and names the agent in act', async () => {
    const token = await exchange('agent', await signIn('alice'), { scope: 'mcp:read mcp:admin' });
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: 'as-1' });
    expect(payload).toMatchObject({
      iss: as.issuer,
      sub: 'alice',
      client_id: 'agent',
      aud: MAIL,
      scope: 'mcp:read', // asked for mcp:admin too, which alice's token does not hold
      roles: ['writer'],
      act: { sub: 'agent' },
    });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
  });

  it('builds a chain when an exchanged token is exchanged again: the newest actor outermost', async () => {
    const first = await exchange('agent', await signIn('alice'));
    const second = await exchange('agent2', first);
    const { payload } = await verify(second);
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'agent2', aud: MAIL, scope: 'mcp:read mcp:write' });
    expect(payload.act).toEqual({ sub: 'agent2', act: { sub: 'agent' } });
  });

  it('honours may_act: only the named actor may exchange, and the new token drops may_act', async () => {
    const carol = await signIn('carol');
    expect(decodeJwt(carol).may_act).toEqual({ sub: 'agent' });
    await expect(exchange('agent2', carol)).rejects.toMatchObject({
      status: 400,
      error: 'invalid_grant',
      description: 'agent2 may not act for carol',
    });
    const byAgent = decodeJwt(await exchange('agent', carol));
    expect(byAgent).toMatchObject({ sub: 'carol', act: { sub: 'agent' }, roles: ['admin'] });
    expect(byAgent).not.toHaveProperty('may_act');
    // With an actor token, its subject is the actor, whoever presents the exchange.
    const actorToken = await as.clientCredentials('agent', agents.agent, FILES);
    const viaActor = decodeJwt(await exchange('agent2', carol, { actorToken }));
    expect(viaActor).toMatchObject({ client_id: 'agent2', act: { sub: 'agent', client_id: 'agent', iss: as.issuer } });
  });

  it('refuses a subject token that another key signed, even with this issuer and kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const genuine = await signIn('alice');
    const forged = await new SignJWT({ ...decodeJwt(genuine), roles: ['admin'] })
      .setProtectedHeader({ ...decodeProtectedHeader(genuine), alg: 'ES256' }) // typ at+jwt, kid as-1
      .sign(privateKey);
    await expect(exchange('agent', forged)).rejects.toMatchObject({ status: 400, error: 'invalid_grant' });
    await expect(verify(forged)).rejects.toThrow(/signature verification failed/);
  });

  it('refuses a client whose grant_types lack the grant, and a resource the server does not know', async () => {
    const subjectToken = await signIn('alice');
    await expect(
      as.exchange({ clientId: 'plain', secret: 'plain secret', subjectToken, resource: MAIL }),
    ).rejects.toMatchObject({ status: 400, error: 'invalid_request' });
    await expect(
      as.exchange({ clientId: 'agent', secret: agents.agent, subjectToken, resource: 'https://elsewhere.example/x' }),
    ).rejects.toMatchObject({ status: 400, error: 'invalid_target' });
    await expect(
      as.exchange({ clientId: 'agent', secret: 'wrong', subjectToken, resource: MAIL }),
    ).rejects.toMatchObject({ status: 401, error: 'invalid_client' });
  });

  it('gives a client-credentials token the client as sub, for the resource asked', async () => {
    const { payload } = await verify(await as.clientCredentials('agent2', agents.agent2, MAIL, 'mcp:write'));
    expect(payload).toMatchObject({ sub: 'agent2', client_id: 'agent2', aud: MAIL, scope: 'mcp:write' });
    expect(payload).not.toHaveProperty('act');
  });
});
