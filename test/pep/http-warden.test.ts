import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenClient } from '../../src/pep/http-warden.ts';
import { WardenRefusal, type Warden } from '../../src/pep/warden.ts';
import { freePort } from '../helpers/sdk-server.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SERVER } from '../helpers/tokens.ts';

const API_KEY = 'mwk_sdk-client-tests-0123456789abcdef';
const read = (path: string) => ({ method: 'tools/call', params: { name: 'fs_read', arguments: { path } } });

async function listen(app: TestService['app']): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The refusal a session call throws (fails the test if it resolves). */
async function refused(promise: Promise<unknown>): Promise<WardenRefusal> {
  const err = await promise.then(
    () => expect.fail('the call succeeded'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WardenRefusal);
  return err as WardenRefusal;
}

describe('createWardenClient against the real service', () => {
  let s: TestService;
  let warden: Warden;
  beforeAll(async () => {
    s = await startTestService();
    warden = createWardenClient({ url: await listen(s.app) });
  });
  afterAll(async () => {
    await warden.close();
    await s.app.close();
  });

  it('decides: allow, and deny with the policy reason', async () => {
    const token = await s.token({ sub: 'alice', roles: ['reader'] });
    const allowed = await warden.decide({ token, server: SERVER, mcp: read('/srv/data/a.txt') });
    expect(allowed).toMatchObject({ allow: true, reasons: [] });
    expect(allowed.policy.revision).toEqual(expect.any(String));
    const denied = await warden.decide({ token, server: SERVER, mcp: read('/etc/passwd') });
    expect(denied.allow).toBe(false);
    expect(denied.reasons.map((r) => r.code)).toEqual(['argument_not_allowed']);
  });

  it('a body the service rejects (400) is a deny, not an exception', async () => {
    const decision = await warden.decide({ server: SERVER, mcp: { method: '' } });
    expect(decision).toMatchObject({
      allow: false,
      reasons: [{ code: 'pdp_unavailable' }],
      policy: { revision: null },
    });
  });

  it('creates, widens and revokes sessions; refusals carry the API code and reasons', async () => {
    const token = await s.token({ sub: 'walt', roles: ['writer'] });
    const view = await warden.createSession({ token, server: SERVER, tools: ['fs_read'] });
    expect(view.id).toMatch(/^mws_/);
    expect(view.scope).toEqual(['fs_read']);
    expect((await warden.widenSession({ id: view.id as string, token, add: ['fs_write'] })).scope).toEqual([
      'fs_read',
      'fs_write',
    ]);
    // A writer may have fs_delete in scope (its calls wait for an approval); a tool the
    // catalogue does not know is refused.
    const notGranted = await refused(warden.widenSession({ id: view.id as string, token, add: ['debug_eval'] }));
    expect(notGranted.code).toBe('session_not_granted');
    expect(notGranted.reasons.map((r) => r.code)).toEqual(['tool_unknown']);
    await warden.revokeSession({ id: view.id as string, token });
    await warden.revokeSession({ id: view.id as string }); // idempotent
    const decision = await warden.decide({ token, session: view.id, server: SERVER, mcp: read('/srv/data/a') });
    expect(decision.reasons.map((r) => r.code)).toEqual(['session_revoked']);
    expect((await refused(warden.widenSession({ id: view.id as string, token, add: ['fs_list'] }))).code).toBe(
      'session_revoked',
    );
    expect((await refused(warden.createSession({ server: SERVER }))).code).toBe('token_missing');
    expect((await refused(warden.revokeSession({ id: 'mws_unknown' }))).code).toBe('session_unknown');
  });
});

describe('createWardenClient with an API key', () => {
  let s: TestService;
  let url: string;
  beforeAll(async () => {
    const sha256 = createHash('sha256').update(API_KEY).digest('hex');
    s = await startTestService({}, { callers: { api_keys: [{ id: 'sdk-pep', sha256, role: 'pep' }] } });
    url = await listen(s.app);
  });
  afterAll(async () => {
    await s.app.close();
  });

  it('presents the key as a bearer; without it the decision fails closed', async () => {
    const token = await s.token({ sub: 'alice', roles: ['reader'] });
    const keyed = createWardenClient({ url, apiKey: API_KEY, connections: 2 });
    const keyless = createWardenClient({ url });
    expect((await keyed.decide({ token, server: SERVER, mcp: read('/srv/data/a') })).allow).toBe(true);
    const denied = await keyless.decide({ token, server: SERVER, mcp: read('/srv/data/a') });
    expect(denied.reasons).toEqual([{ code: 'pdp_unavailable', message: 'the decision API answered 401' }]);
    expect((await refused(keyless.createSession({ token, server: SERVER }))).code).toBe('caller_unauthenticated');
    await keyed.close();
    await keyless.close();
  });
});

describe('createWardenClient fails closed', () => {
  let stub: Server;
  let base: string;
  const seen: { url: string | undefined; authorization: string | undefined }[] = [];
  // Each path answers one way the decision API must never be believed.
  const answers: Record<string, (res: ServerResponse) => void> = {
    '/500/v1/decide': (res) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"internal_error","message":"x"}'),
    '/lying/v1/decide': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"allow":true}'),
    '/garbage/v1/decide': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('allow: true'),
    '/hang/v1/decide': () => undefined,
    '/hang/v1/sessions': () => undefined,
    '/prefixed/v1/decide': (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          decision_id: 'd-1',
          allow: true,
          reasons: [],
          obligations: {},
          visible_tools: null,
          policy: { revision: 'r1' },
        }),
      ),
  };

  beforeAll(async () => {
    stub = createServer((req: IncomingMessage, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      req.resume();
      (answers[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    stub.closeAllConnections();
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  });

  const decideVia = async (url: string, timeoutMs = 2000) => {
    const warden = createWardenClient({ url, timeoutMs });
    try {
      return await warden.decide({ token: 't', server: SERVER, mcp: read('/srv/data/a') });
    } finally {
      await warden.close();
    }
  };
  const expectUnavailable = (decision: Awaited<ReturnType<typeof decideVia>>) => {
    expect(decision).toMatchObject({ allow: false, visible_tools: null, policy: { revision: null } });
    expect(decision.reasons.map((r) => r.code)).toEqual(['pdp_unavailable']);
    expect(decision.decision_id).toMatch(/^[0-9a-f-]{36}$/);
  };

  it('when the service is down', async () => {
    expectUnavailable(await decideVia(`http://127.0.0.1:${await freePort()}`));
  });

  it('when the service never answers, within the timeout', async () => {
    const started = Date.now();
    const decision = await decideVia(`${base}/hang`, 200);
    expectUnavailable(decision);
    expect(decision.reasons[0]?.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('on a 500, on a 200 whose body does not validate, and on a 200 that is not JSON', async () => {
    expectUnavailable(await decideVia(`${base}/500`));
    expectUnavailable(await decideVia(`${base}/lying`));
    expectUnavailable(await decideVia(`${base}/garbage`));
  });

  it('session calls throw pdp_unavailable on a transport failure', async () => {
    const warden = createWardenClient({ url: `${base}/hang`, timeoutMs: 200 });
    expect((await refused(warden.createSession({ token: 't', server: SERVER }))).code).toBe('pdp_unavailable');
    await warden.close();
  });

  it('keeps a path prefix and presents the API key', async () => {
    const warden = createWardenClient({ url: `${base}/prefixed/`, apiKey: API_KEY });
    expect(await warden.decide({ token: 't', server: SERVER, mcp: read('/srv/data/a') })).toMatchObject({
      allow: true,
      decision_id: 'd-1',
    });
    expect(seen.at(-1)).toEqual({ url: '/prefixed/v1/decide', authorization: `Bearer ${API_KEY}` });
    await warden.close();
  });

  it('refuses bad options at construction', () => {
    expect(() => createWardenClient({ url: 'not a url' })).toThrow(TypeError);
    expect(() => createWardenClient({ url: 'ftp://127.0.0.1' })).toThrow(TypeError);
    expect(() => createWardenClient({ url: base, timeoutMs: 0 })).toThrow(TypeError);
    expect(() => createWardenClient({ url: base, apiKey: '' })).toThrow(TypeError);
  });
});
