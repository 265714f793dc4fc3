import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { createCallerAuth } from '../../src/server/caller.ts';
import { buildTestApp } from '../helpers/app.ts';
import { createTestCore, type TestCore } from '../helpers/core.ts';
import { ISSUER, SERVER } from '../helpers/tokens.ts';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const PEP_KEY = 'mwk_revocation-tests-pep-0123456789';
const ADMIN_KEY = 'mwk_revocation-tests-admin-0123456789';
const METRICS_KEY = 'mwk_revocation-tests-metrics-0123456789';
const PEP = { authorization: `Bearer ${PEP_KEY}` };
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };
const METRICS = { authorization: `Bearer ${METRICS_KEY}` };
const auth = createCallerAuth([
  { id: 'gw', sha256: sha(PEP_KEY), role: 'pep', disabled: false },
  { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin', disabled: false },
  { id: 'prom', sha256: sha(METRICS_KEY), role: 'metrics', disabled: false },
]);

describe('principal revocation and liveness routes', () => {
  let t: TestCore;
  let app: FastifyInstance;
  const open = async (deps: CoreDeps = t.deps) => {
    await app?.close();
    ({ app } = await buildTestApp(deps, { auth }));
  };
  beforeEach(async () => {
    t = await createTestCore();
    await open();
  });
  afterEach(async () => {
    await app.close();
  });

  const post = (url: string, payload: unknown, headers: Record<string, string> = ADMIN) =>
    app.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> });
  const createSession = async (token: string) => {
    const res = await post('/v1/sessions', { token, server: SERVER }, PEP);
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  };
  const decide = async (token: string, session?: string) =>
    (
      await post(
        '/v1/decide',
        {
          token,
          server: SERVER,
          ...(session === undefined ? {} : { session }),
          mcp: {
            method: 'tools/call',
            params: { name: 'fs_read', arguments: { path: '/srv/data/a' } },
            protocol_version: '2026-07-28',
          },
        },
        PEP,
      )
    ).json();

  describe('POST /v1/revocations', () => {
    const bad: { note: string; body: Record<string, unknown>; path: string }[] = [
      { note: 'no selector', body: {}, path: '' },
      { note: 'only a note', body: { note: 'why' }, path: '' },
      { note: 'two selectors', body: { subject: 'alice', token_sha256: 'a'.repeat(64) }, path: 'token_sha256' },
      {
        note: 'three selectors',
        body: { client_id: 'c', jti: 'j', token_sha256: 'a'.repeat(64), issuer: ISSUER },
        path: 'token_sha256',
      },
      { note: 'a jti without its issuer', body: { jti: 'j' }, path: 'issuer' },
      { note: 'a token hash that is not one', body: { token_sha256: 'not-hex' }, path: 'token_sha256' },
      { note: 'an unknown field', body: { subject: 'alice', server: SERVER }, path: 'server' },
    ];
    for (const { note, body, path } of bad) {
      it(`400 invalid_request naming the field for ${note}`, async () => {
        const res = await post('/v1/revocations', body);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'invalid_request', errors: [{ path }] });
      });
    }

    it('403 for a pep caller, 401 without a key; nothing is recorded', async () => {
      const asPep = await post('/v1/revocations', { subject: 'alice' }, PEP);
      expect(asPep.statusCode).toBe(403);
      expect(asPep.json().code).toBe('caller_forbidden');
      expect((await post('/v1/revocations', { subject: 'alice' }, {})).statusCode).toBe(401);
      expect(await t.sessions.listRevocations(t.clock.now, 10)).toEqual([]);
    });

    it('201 with the rule and the sessions revoked; audited; the principal is denied in every era', async () => {
      const token = await t.idp.mint();
      const session = await createSession(token);
      await createSession(await t.idp.mint({}, { subject: 'bob' }));
      const res = await post('/v1/revocations', { subject: 'alice', issuer: ISSUER, note: 'left the company' });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({
        rule: {
          selector: 'subject',
          issuer: ISSUER,
          subject: 'alice',
          client_id: null,
          token_sha256: null,
          jti: null,
          revoked_at: new Date(t.clock.now).toISOString(),
          expires_at: new Date(t.clock.now + 86_400_000).toISOString(),
          revoked_by: 'ops',
          note: 'left the company',
        },
        revoked: 1,
      });
      const record = t.audit.saved.find((r) => r.kind === 'principal.revoked');
      expect(record).toMatchObject({
        caller: 'ops',
        principal: { iss: ISSUER, sub: 'alice' },
        detail: { note: 'left the company' },
      });
      expect((await decide(token)).reasons).toEqual([expect.objectContaining({ code: 'principal_revoked' })]);
      expect((await decide(token, session)).reasons).toEqual([expect.objectContaining({ code: 'principal_revoked' })]);
      expect((await post('/v1/sessions', { token, server: SERVER }, PEP)).json().code).toBe('principal_revoked');
    });

    it('503 audit_unavailable when the record is refused; the rule is in force all the same', async () => {
      const token = await t.idp.mint();
      t.audit.failing = true;
      const res = await post('/v1/revocations', { client_id: 'app-1' });
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe('audit_unavailable');
      t.audit.failing = false;
      expect((await decide(await t.idp.mint({ client_id: 'app-1' }))).reasons[0].code).toBe('principal_revoked');
      expect((await decide(token)).allow).toBe(true);
    });
  });

  it('GET /v1/revocations lists the rules in force (admin only)', async () => {
    await post('/v1/revocations', { client_id: 'app-1' });
    await post('/v1/revocations', { jti: 'j-1', issuer: ISSUER });
    expect((await app.inject({ method: 'GET', url: '/v1/revocations', headers: PEP })).statusCode).toBe(403);
    const res = await app.inject({ method: 'GET', url: '/v1/revocations?limit=10', headers: ADMIN });
    expect(res.statusCode).toBe(200);
    expect(res.json().revocations.map((r: { selector: string }) => r.selector)).toEqual(['client', 'jti']);
  });

  it('POST /v1/sessions/revoke {client_id} also revokes the client, so its stateless requests stop', async () => {
    const token = await t.idp.mint({ client_id: 'app-1' });
    await createSession(token);
    const res = await post('/v1/sessions/revoke', { client_id: 'app-1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ revoked: 1, rule: { selector: 'client', client_id: 'app-1' } });
    expect((await decide(token)).reasons[0].code).toBe('principal_revoked');
    const byServer = await post('/v1/sessions/revoke', { server: SERVER });
    expect(byServer.json().rule).toBeNull();
  });

  describe("an admin's DELETE /v1/sessions/{id}", () => {
    it("with session.admin_revoke 'principal' (default) stops the owner's stateless requests too", async () => {
      const token = await t.idp.mint();
      const id = await createSession(token);
      const res = await app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: ADMIN });
      expect(res.statusCode).toBe(200);
      expect((await decide(token)).reasons[0].code).toBe('principal_revoked');
    });

    it("with session.admin_revoke 'session' ends that session only", async () => {
      await open({ ...t.deps, adminRevoke: 'session' });
      const token = await t.idp.mint();
      const id = await createSession(token);
      expect((await app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: ADMIN })).statusCode).toBe(200);
      expect((await decide(token)).allow).toBe(true);
      expect((await decide(token, id)).reasons[0].code).toBe('session_revoked');
    });

    it("never cascades for the owner's own DELETE through its PEP", async () => {
      const token = await t.idp.mint();
      const id = await createSession(token);
      const res = await app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, headers: PEP, payload: { token } });
      expect(res.statusCode).toBe(200);
      expect((await decide(token)).allow).toBe(true);
    });
  });

  describe('POST /v1/liveness', () => {
    it('answers one result per item: live, or the reason', async () => {
      const token = await t.idp.mint();
      const id = await createSession(token);
      const revoked = await createSession(token);
      await app.inject({ method: 'DELETE', url: `/v1/sessions/${revoked}`, headers: PEP, payload: { token } });
      const res = await post(
        '/v1/liveness',
        {
          items: [
            { token, session: id, server: SERVER },
            { token, session: revoked, server: SERVER },
            { server: SERVER },
          ],
        },
        PEP,
      );
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        results: [
          { live: true },
          { live: false, reason: { code: 'session_revoked', message: expect.any(String) } },
          { live: false, reason: { code: 'token_missing', message: expect.any(String) } },
        ],
      });
      expect(t.audit.saved.filter((r) => r.kind === 'decision')).toEqual([]);
    });

    it('takes 1000 items beyond the default body limit, and refuses 1001', async () => {
      const token = await t.idp.mint();
      const items = Array.from({ length: 1000 }, () => ({ token, server: SERVER }));
      expect(JSON.stringify({ items }).length).toBeGreaterThan(65_536);
      const res = await post('/v1/liveness', { items }, PEP);
      expect(res.statusCode).toBe(200);
      expect(res.json().results).toHaveLength(1000);
      const tooMany = await post('/v1/liveness', { items: [...items, { token, server: SERVER }] }, PEP);
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json()).toMatchObject({ code: 'invalid_request', errors: [{ path: 'items' }] });
    });

    it('is for pep and admin callers only', async () => {
      const body = { items: [] };
      expect((await post('/v1/liveness', body, ADMIN)).statusCode).toBe(200);
      expect((await post('/v1/liveness', body, METRICS)).statusCode).toBe(403);
      expect((await post('/v1/liveness', body, {})).statusCode).toBe(401);
    });
  });
});
