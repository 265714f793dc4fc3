import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryApprovalStore } from '../../src/approval/memory-store.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { createCallerAuth } from '../../src/server/caller.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { buildTestApp } from '../helpers/app.ts';
import { gatedEngine, PAGE, withApprovals } from '../helpers/approvals.ts';
import { createTestCore, loadDefaultEngine, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

// The approval API over a test core that keeps approvals: a writer's fs_write is parked
// by a gated engine, an admin caller lists, reads, decides (with the approver's own
// token) and revokes the request.
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const PEP_KEY = 'mwk_approval-tests-pep-0123456789';
const ADMIN_KEY = 'mwk_approval-tests-admin-0123456789';
const PEP = { authorization: `Bearer ${PEP_KEY}` };
const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };
const auth = createCallerAuth([
  { id: 'gw', sha256: sha(PEP_KEY), role: 'pep', disabled: false },
  { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin', disabled: false },
]);
const OTHER_SERVER = 'https://mcp.example.com/other';
const FOUR_EYES = { approvers: { roles: ['admin'] }, reason: 'fs_write changes files' };
const UNKNOWN_ID = `mwa_${'A'.repeat(43)}`;

interface View {
  id: string;
  state: string;
  url: string | null;
  server: string;
  tool: string;
  arguments: unknown;
  session: string | null;
  requester: { sub: string };
  decided_by: { sub: string | null; caller: string } | null;
  [key: string]: unknown;
}

describe('the approval routes (admin)', () => {
  let t: TestCore;
  let deps: CoreDeps;
  let app: FastifyInstance;
  let alice: string;
  let bob: string;
  let session: string;

  beforeEach(async () => {
    t = await createTestCore({ engine: gatedEngine(await loadDefaultEngine(), { fs_write: FOUR_EYES }) });
    deps = withApprovals(t.deps, new MemoryApprovalStore({ maxGrantMs: 600_000, retainMs: 3_600_000 }));
    ({ app } = await buildTestApp(deps, { auth }));
    alice = await t.idp.mint({ roles: ['writer'], client_id: 'agent-app' }, { subject: 'alice', expiresIn: 7200 });
    bob = await t.idp.mint({ roles: ['admin'], client_id: 'approvals-page' }, { subject: 'bob', expiresIn: 7200 });
    session = await openSession(alice, SERVER);
  });
  afterEach(async () => {
    await app.close();
  });

  const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string>, payload?: unknown) =>
    app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

  async function openSession(token: string, server: string): Promise<string> {
    const res = await inject('POST', '/v1/sessions', PEP, { token, server, tools: ['fs_write'] });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }

  /** A writer's fs_write of `path`, decided through the API: parked, its approval id returned. */
  async function park(path: string, options: { server?: string; token?: string; session?: string } = {}) {
    const res = await inject('POST', '/v1/decide', PEP, {
      token: options.token ?? alice,
      session: options.session ?? session,
      server: options.server ?? SERVER,
      mcp: { method: 'tools/call', params: { name: 'fs_write', arguments: { path, content: 'x' } } },
    });
    expect(res.statusCode).toBe(200);
    const decision = res.json();
    expect(decision).toMatchObject({ allow: false, reasons: [{ code: 'approval_required' }] });
    return decision.approval.id as string;
  }

  const decideOn = (id: string, body: unknown, headers: Record<string, string> = ADMIN) =>
    inject('POST', `/v1/approvals/${id}/decision`, headers, body);
  const grant = (id: string) => decideOn(id, { token: bob, decision: 'grant', note: 'looked fine' });
  const list = async (query: string) => {
    const res = await inject('GET', `/v1/approvals${query}`, ADMIN);
    expect(res.statusCode).toBe(200);
    return (res.json().approvals as View[]).map((v) => v.id);
  };

  describe('GET /v1/approvals', () => {
    it('lists by state at now: pending, granted, consumed, denied, revoked, expired (fake clock)', async () => {
      const expiring = await park('/srv/data/expiring.txt');
      t.clock.advance(700_000);
      // A writer's session idles out after 600 s: the later calls are made in a new one.
      session = await openSession(alice, SERVER);
      const pending = await park('/srv/data/pending.txt');
      const granted = await park('/srv/data/granted.txt');
      const consumed = await park('/srv/data/consumed.txt');
      const denied = await park('/srv/data/denied.txt');
      const revoked = await park('/srv/data/revoked.txt');
      expect((await grant(granted)).statusCode).toBe(200);
      expect((await grant(consumed)).statusCode).toBe(200);
      const used = await inject('POST', '/v1/decide', PEP, {
        token: alice,
        session,
        server: SERVER,
        mcp: {
          method: 'tools/call',
          params: { name: 'fs_write', arguments: { path: '/srv/data/consumed.txt', content: 'x' } },
        },
      });
      expect(used.json()).toMatchObject({ allow: true });
      expect((await decideOn(denied, { token: bob, decision: 'deny' })).statusCode).toBe(200);
      expect((await inject('DELETE', `/v1/approvals/${revoked}`, ADMIN)).statusCode).toBe(200);
      // The first request waits 900 s (requestTtlSeconds); the grants 300 s (grantTtlSeconds).
      t.clock.advance(200_000);

      expect(await list('?state=pending')).toEqual([pending]);
      expect(await list('?state=granted')).toEqual([granted]);
      expect(await list('?state=consumed')).toEqual([consumed]);
      expect(await list('?state=denied')).toEqual([denied]);
      expect(await list('?state=revoked')).toEqual([revoked]);
      expect(await list('?state=expired')).toEqual([expiring]);
      // Newest first; every state without a filter.
      expect(await list('')).toEqual([revoked, denied, consumed, granted, pending, expiring]);
      const views = (await inject('GET', '/v1/approvals?state=expired', ADMIN)).json().approvals as View[];
      expect(views[0]).toMatchObject({ id: expiring, state: 'expired', url: `${PAGE}/${expiring}` });

      // A grant nobody used expires too, 300 s after its decision; the later request still waits.
      t.clock.advance(100_000);
      expect(await list('?state=granted')).toEqual([]);
      expect(await list('?state=expired')).toEqual([granted, expiring]);
      expect(await list('?state=pending')).toEqual([pending]);
    });

    it('filters by server, and bounds limit', async () => {
      const here = await park('/srv/data/a.txt');
      const there = await park('/srv/data/a.txt', {
        server: OTHER_SERVER,
        token: await t.idp.mint({ roles: ['writer'] }, { subject: 'alice', audience: OTHER_SERVER }),
        session: await openSession(
          await t.idp.mint({ roles: ['writer'] }, { subject: 'alice', audience: OTHER_SERVER }),
          OTHER_SERVER,
        ),
      });
      expect(await list(`?server=${encodeURIComponent(OTHER_SERVER)}`)).toEqual([there]);
      expect(await list(`?server=${encodeURIComponent(SERVER)}`)).toEqual([here]);
      expect(await list('?server=https%3A%2F%2Fnowhere.example')).toEqual([]);
      expect(await list('?limit=1')).toEqual([there]);
      expect(await list('?limit=1000')).toEqual([there, here]);
      for (const limit of ['0', '1001', '-1', '1.5', 'many']) {
        const res = await inject('GET', `/v1/approvals?limit=${limit}`, ADMIN);
        expect(res.statusCode, limit).toBe(400);
        expect(res.json(), limit).toMatchObject({ code: 'invalid_request', errors: [{ path: 'limit' }] });
      }
    });

    it('400 naming state for an unknown state, or an unknown parameter', async () => {
      const bad = await inject('GET', '/v1/approvals?state=approved', ADMIN);
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'invalid_request', errors: [{ path: 'state' }] });
      const unknown = await inject('GET', '/v1/approvals?owner=alice', ADMIN);
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().code).toBe('invalid_request');
    });
  });

  describe('GET /v1/approvals/:id', () => {
    it('200 with the view; an unknown or malformed id is 404 approval_unknown', async () => {
      const id = await park('/srv/data/a.txt');
      const res = await inject('GET', `/v1/approvals/${id}`, ADMIN);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id,
        state: 'pending',
        url: `${PAGE}/${id}`,
        server: SERVER,
        tool: 'fs_write',
        arguments: { path: '/srv/data/a.txt', content: 'x' },
        requester: { iss: t.idp.issuer.issuer, sub: 'alice', client_id: 'agent-app', spiffe_id: null },
        session: hashSessionId(session),
        approvers: FOUR_EYES.approvers,
        reason: FOUR_EYES.reason,
        created_at: new Date(t.clock.now).toISOString(),
        expires_at: new Date(t.clock.now + 900_000).toISOString(),
        decided_at: null,
        decided_by: null,
        note: null,
        grant_expires_at: null,
        consumed_at: null,
        consumed_by: null,
        revoked_at: null,
        revoked_by: null,
      });
      for (const other of [UNKNOWN_ID, 'nope', `${id.slice(0, -1)}!`]) {
        const missing = await inject('GET', `/v1/approvals/${encodeURIComponent(other)}`, ADMIN);
        expect(missing.statusCode, other).toBe(404);
        expect(missing.json().code, other).toBe('approval_unknown');
      }
    });
  });

  describe('POST /v1/approvals/:id/decision', () => {
    it("200 granted, with who decided, the note and the grant's expiry", async () => {
      const id = await park('/srv/data/a.txt');
      t.clock.advance(5_000);
      const res = await grant(id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id,
        state: 'granted',
        url: `${PAGE}/${id}`,
        decided_at: new Date(t.clock.now).toISOString(),
        decided_by: { iss: t.idp.issuer.issuer, sub: 'bob', client_id: 'approvals-page', caller: 'ops' },
        note: 'looked fine',
        grant_expires_at: new Date(t.clock.now + 300_000).toISOString(),
        consumed_at: null,
      });
      expect(t.audit.saved.at(-1)).toMatchObject({
        kind: 'approval.granted',
        caller: 'ops',
        principal: { sub: 'bob' },
      });
      // A second decision, whichever, finds it closed.
      for (const decision of ['grant', 'deny']) {
        const again = await decideOn(id, { token: bob, decision });
        expect(again.statusCode).toBe(409);
        expect(again.json().code).toBe('approval_closed');
      }
    });

    it('400 naming the field: no token, a bad decision, a note over 1024, an unknown field', async () => {
      const id = await park('/srv/data/a.txt');
      const cases: { body: Record<string, unknown>; path: string }[] = [
        { body: { decision: 'grant' }, path: 'token' },
        { body: { token: '', decision: 'grant' }, path: 'token' },
        { body: { token: bob, decision: 'approve' }, path: 'decision' },
        { body: { token: bob }, path: 'decision' },
        { body: { token: bob, decision: 'grant', note: 'n'.repeat(1025) }, path: 'note' },
        { body: { token: bob, decision: 'grant', note: '' }, path: 'note' },
        { body: { token: bob, decision: 'grant', by: 'bob' }, path: 'by' },
      ];
      for (const { body, path } of cases) {
        const res = await decideOn(id, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json(), JSON.stringify(body)).toMatchObject({ code: 'invalid_request', errors: [{ path }] });
      }
      // A note of exactly 1024 is taken.
      const ok = await decideOn(id, { token: bob, decision: 'grant', note: 'n'.repeat(1024) });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().note).toHaveLength(1024);
    });

    it('403 for a pep caller, 401 without a key or with a bad one; nothing is decided', async () => {
      const id = await park('/srv/data/a.txt');
      const body = { token: bob, decision: 'grant' };
      const asPep = await decideOn(id, body, PEP);
      expect(asPep.statusCode).toBe(403);
      expect(asPep.json().code).toBe('caller_forbidden');
      const anonymous = await decideOn(id, body, {});
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json().code).toBe('caller_unauthenticated');
      expect((await decideOn(id, body, { authorization: 'Bearer mwk_not-a-key-of-this-service' })).statusCode).toBe(
        401,
      );
      for (const [method, url] of [
        ['GET', '/v1/approvals'],
        ['GET', `/v1/approvals/${id}`],
        ['DELETE', `/v1/approvals/${id}`],
      ] as const) {
        expect((await inject(method, url, PEP)).statusCode, `${method} ${url}`).toBe(403);
        expect((await inject(method, url, {})).statusCode, `${method} ${url}`).toBe(401);
      }
      expect((await inject('GET', `/v1/approvals/${id}`, ADMIN)).json().state).toBe('pending');
    });

    it("refuses the requester (403 approval_forbidden) and an unknown id (404); a deny is 200 'denied'", async () => {
      const id = await park('/srv/data/a.txt');
      const own = await decideOn(id, { token: alice, decision: 'grant' });
      expect(own.statusCode).toBe(403);
      expect(own.json().code).toBe('approval_forbidden');
      const unknown = await decideOn(UNKNOWN_ID, { token: bob, decision: 'grant' });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().code).toBe('approval_unknown');
      const denied = await decideOn(id, { token: bob, decision: 'deny', note: 'not today' });
      expect(denied.statusCode).toBe(200);
      expect(denied.json()).toMatchObject({ state: 'denied', note: 'not today', grant_expires_at: null });
    });

    it('409 approval_closed for an expired request', async () => {
      const id = await park('/srv/data/a.txt');
      t.clock.advance(900_000);
      const late = await t.idp.mint({ roles: ['admin'] }, { subject: 'bob' });
      const res = await decideOn(id, { token: late, decision: 'grant' });
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('approval_closed');
    });
  });

  describe('DELETE /v1/approvals/:id', () => {
    it('200 revoked, with who revoked it; again is 409 approval_closed; a grant can be revoked', async () => {
      const id = await park('/srv/data/a.txt');
      const res = await inject('DELETE', `/v1/approvals/${id}`, ADMIN);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id,
        state: 'revoked',
        revoked_at: new Date(t.clock.now).toISOString(),
        revoked_by: { iss: null, sub: null, client_id: null, caller: 'ops' },
      });
      const again = await inject('DELETE', `/v1/approvals/${id}`, ADMIN);
      expect(again.statusCode).toBe(409);
      expect(again.json().code).toBe('approval_closed');
      expect((await decideOn(id, { token: bob, decision: 'grant' })).statusCode).toBe(409);

      const second = await park('/srv/data/a.txt');
      expect(second).not.toBe(id);
      expect((await grant(second)).statusCode).toBe(200);
      const withNote = await inject('DELETE', `/v1/approvals/${second}`, ADMIN, { note: 'wrong file' });
      expect(withNote.statusCode).toBe(200);
      expect(withNote.json().state).toBe('revoked');
      expect(t.audit.saved.at(-1)).toMatchObject({
        kind: 'approval.revoked',
        caller: 'ops',
        detail: { approval: second, note: 'wrong file' },
      });
      const unknown = await inject('DELETE', `/v1/approvals/${UNKNOWN_ID}`, ADMIN);
      expect(unknown.statusCode).toBe(404);
      const badNote = await inject('DELETE', `/v1/approvals/${UNKNOWN_ID}`, ADMIN, { note: 'n'.repeat(1025) });
      expect(badNote.statusCode).toBe(400);
      expect(badNote.json()).toMatchObject({ code: 'invalid_request', errors: [{ path: 'note' }] });
    });
  });

  it("shows no token nor session id in clear: the session is its hash, the url the request's page", async () => {
    const id = await park('/srv/data/secret.txt');
    const views: string[] = [];
    views.push((await inject('GET', `/v1/approvals/${id}`, ADMIN)).body);
    views.push((await inject('GET', '/v1/approvals', ADMIN)).body);
    views.push((await grant(id)).body);
    const used = await inject('POST', '/v1/decide', PEP, {
      token: alice,
      session,
      server: SERVER,
      mcp: {
        method: 'tools/call',
        params: { name: 'fs_write', arguments: { path: '/srv/data/secret.txt', content: 'x' } },
      },
    });
    expect(used.json().allow).toBe(true);
    views.push((await inject('GET', `/v1/approvals/${id}`, ADMIN)).body);
    for (const body of views) {
      expect(body).not.toContain(alice);
      expect(body).not.toContain(bob);
      expect(body).not.toContain(session);
      // Nor any part of a token (its signature), nor a session id's secret part.
      expect(body).not.toContain(alice.split('.')[2]!);
      expect(body).not.toContain(bob.split('.')[2]!);
    }
    const view = JSON.parse(views.at(-1)!) as View;
    expect(view).toMatchObject({ state: 'consumed', session: hashSessionId(session), url: `${PAGE}/${id}` });
    expect(view.session).toMatch(/^[0-9a-f]{64}$/);
    expect(view.consumed_by).toBe(used.json().decision_id);
  });
});
