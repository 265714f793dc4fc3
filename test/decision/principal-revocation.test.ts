import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import { hashToken } from '../../src/decision/principal-revocation.ts';
import { revokePrincipal, revokeSessionsOfPrincipal } from '../../src/decision/revocations.ts';
import { createSession, revokeSession, widenSession } from '../../src/decision/sessions.ts';
import type { Caller, DecideRequest, RevocationFields } from '../../src/decision/types.ts';
import { SessionStoreUnavailable } from '../../src/errors.ts';
import { errorCodeOf } from '../helpers/error-code.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { ISSUER, SERVER } from '../helpers/tokens.ts';

const ADMIN: Caller = { id: 'ops', role: 'admin' };
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

/** A stateless (MCP 2026-07-28) call: the token alone, no session. */
function statelessCall(token: string, extra: Partial<DecideRequest> = {}): DecideRequest {
  return {
    token,
    server: SERVER,
    mcp: {
      method: 'tools/call',
      params: { name: 'fs_read', arguments: { path: '/srv/data/a.txt' } },
      protocol_version: '2026-07-28',
    },
    ...extra,
  };
}

describe('principal revocation in decide()', () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await createTestCore();
  });

  const selectors: { note: string; fields: (token: string) => RevocationFields }[] = [
    { note: 'subject and issuer', fields: () => ({ subject: 'alice', issuer: ISSUER }) },
    { note: 'subject of any issuer', fields: () => ({ subject: 'alice' }) },
    { note: 'subject through its client', fields: () => ({ subject: 'alice', client_id: 'app-1' }) },
    { note: 'client', fields: () => ({ client_id: 'app-1' }) },
    { note: 'token sha256', fields: (token) => ({ token_sha256: hashToken(token).toUpperCase() }) },
    { note: 'issuer and jti', fields: () => ({ jti: 'jti-1', issuer: ISSUER }) },
  ];
  for (const { note, fields } of selectors) {
    it(`denies principal_revoked, stateless or with a session, after a revocation by ${note}`, async () => {
      const token = await t.idp.mint({ client_id: 'app-1', jti: 'jti-1' });
      const session = (await createSession(t.deps, { token, server: SERVER }, PEP)).id!;
      expect((await decide(t.deps, statelessCall(token), PEP)).allow).toBe(true);
      const { rule } = await revokePrincipal(t.deps, { ...fields(token), note: 'incident 42' }, ADMIN);
      expect(rule).toMatchObject({
        revoked_by: 'ops',
        note: 'incident 42',
        revoked_at: new Date(t.clock.now).toISOString(),
      });
      for (const request of [statelessCall(token), statelessCall(token, { session })]) {
        const d = await decide(t.deps, request, PEP);
        expect(d.allow).toBe(false);
        expect(codes(d)).toEqual(['principal_revoked']);
      }
      expect(t.audit.saved.at(-1)).toMatchObject({
        kind: 'decision',
        allow: false,
        reasons: [{ code: 'principal_revoked' }],
      });
      // Another principal is untouched.
      const bob = await t.idp.mint({ client_id: 'app-2' }, { subject: 'bob' });
      expect((await decide(t.deps, statelessCall(bob), PEP)).allow).toBe(true);
    });
  }

  it('a token issued after a subject or client rule passes; a token rule stops only that token', async () => {
    const before = await t.idp.mint({ client_id: 'app-1' });
    await revokePrincipal(t.deps, { subject: 'alice', issuer: ISSUER }, ADMIN);
    await revokePrincipal(t.deps, { client_id: 'app-1' }, ADMIN);
    expect(codes(await decide(t.deps, statelessCall(before), PEP))).toEqual(['principal_revoked']);
    t.clock.advance(1_000);
    const after = await t.idp.mint({ client_id: 'app-1' });
    expect((await decide(t.deps, statelessCall(after), PEP)).allow).toBe(true);
    await revokePrincipal(t.deps, { token_sha256: hashToken(after) }, ADMIN);
    expect(codes(await decide(t.deps, statelessCall(after), PEP))).toEqual(['principal_revoked']);
    t.clock.advance(1_000);
    expect((await decide(t.deps, statelessCall(await t.idp.mint({ client_id: 'app-1' })), PEP)).allow).toBe(true);
  });

  it('a rule past its retention no longer denies (its tokens have expired by then)', async () => {
    const token = await t.idp.mint({}, { expiresIn: 2 * 86_400 });
    await revokePrincipal(t.deps, { token_sha256: hashToken(token) }, ADMIN);
    t.clock.advance(86_400_000 - 1);
    expect(codes(await decide(t.deps, statelessCall(token), PEP))).toEqual(['principal_revoked']);
    t.clock.advance(1);
    expect((await decide(t.deps, statelessCall(token), PEP)).allow).toBe(true);
  });

  it('fails closed with session_store_unavailable when the revocations cannot be read', async () => {
    const token = await t.idp.mint();
    t.sessions.principalRevocation = async () => {
      throw new SessionStoreUnavailable('the session store is not reachable');
    };
    expect(codes(await decide(t.deps, statelessCall(token), PEP))).toEqual(['session_store_unavailable']);
    t.sessions.principalRevocation = async () => {
      throw new Error('a bug');
    };
    expect(codes(await decide(t.deps, statelessCall(token), PEP))).toEqual(['session_store_unavailable']);
    expect(await errorCodeOf(createSession(t.deps, { token, server: SERVER }, PEP))).toBe('session_store_unavailable');
  });

  it('createSession and widenSession refuse a revoked principal', async () => {
    const token = await t.idp.mint({ roles: ['writer'] });
    const session = (await createSession(t.deps, { token, server: SERVER, tools: ['fs_read'] }, PEP)).id!;
    await revokePrincipal(t.deps, { subject: 'alice', issuer: ISSUER }, ADMIN);
    expect(await errorCodeOf(createSession(t.deps, { token, server: SERVER }, PEP))).toBe('principal_revoked');
    expect(await errorCodeOf(widenSession(t.deps, { id: session, token, add: ['fs_write'] }, PEP))).toBe(
      'principal_revoked',
    );
  });

  it('revokes the live sessions a subject or client rule covers, and audits each step', async () => {
    const token = await t.idp.mint({ client_id: 'app-1' });
    await createSession(t.deps, { token, server: SERVER }, PEP);
    await createSession(t.deps, { token, server: SERVER }, PEP);
    const answer = await revokePrincipal(t.deps, { subject: 'alice', issuer: ISSUER }, ADMIN);
    expect(answer.revoked).toBe(2);
    const kinds = t.audit.saved.map((r) => r.kind);
    expect(kinds.slice(-3)).toEqual(['principal.revoked', 'session.revoked', 'session.revoked']);
    expect(t.audit.saved.at(-3)).toMatchObject({
      caller: 'ops',
      principal: { iss: ISSUER, sub: 'alice', client_id: null },
      detail: { rule: { selector: 'subject', subject: 'alice', issuer: ISSUER }, by: { caller: 'ops', role: 'admin' } },
    });
    expect((await revokePrincipal(t.deps, { token_sha256: hashToken(token) }, ADMIN)).revoked).toBe(0);
  });

  it('the core bulk revoke with a principal filter records its rule; with a server it ends sessions only', async () => {
    const token = await t.idp.mint();
    await createSession(t.deps, { token, server: SERVER }, PEP);
    const byServer = await revokeSessionsOfPrincipal(t.deps, { sub: 'alice', server: SERVER }, ADMIN);
    expect(byServer).toMatchObject({ rule: null, sessions: [{ owner: { sub: 'alice' } }] });
    expect((await decide(t.deps, statelessCall(token), PEP)).allow).toBe(true);
    const bySubject = await revokeSessionsOfPrincipal(t.deps, { sub: 'alice' }, ADMIN);
    expect(bySubject.rule).toMatchObject({ selector: 'subject', subject: 'alice', issuer: null, client_id: null });
    expect(codes(await decide(t.deps, statelessCall(token), PEP))).toEqual(['principal_revoked']);
  });

  describe('exactly one selector', () => {
    const bad: { note: string; fields: RevocationFields; path: string }[] = [
      { note: 'none', fields: { note: 'x' }, path: '' },
      { note: 'subject and token', fields: { subject: 'a', token_sha256: 'a'.repeat(64) }, path: 'token_sha256' },
      { note: 'client and jti', fields: { client_id: 'c', jti: 'j', issuer: ISSUER }, path: 'jti' },
      { note: 'jti without issuer', fields: { jti: 'j' }, path: 'issuer' },
      { note: 'issuer alone', fields: { issuer: ISSUER }, path: '' },
      { note: 'issuer with a client', fields: { issuer: ISSUER, client_id: 'c' }, path: 'issuer' },
    ];
    for (const { note, fields, path } of bad) {
      it(`refuses ${note} with invalid_request naming the field`, async () => {
        const err = await revokePrincipal(t.deps, fields, ADMIN).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'invalid_request', errors: [{ path }] });
        expect(await t.sessions.listRevocations(t.clock.now, 10)).toEqual([]);
      });
    }
  });
});

describe("an admin's DELETE of one session (session.admin_revoke)", () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await createTestCore();
  });

  const setUp = async () => {
    const token = await t.idp.mint({ client_id: 'app-1' });
    const id = (await createSession(t.deps, { token, server: SERVER }, PEP)).id!;
    return { token, id };
  };

  it("'principal' (the default): the owner's stateless requests stop too, through that client", async () => {
    const { token, id } = await setUp();
    await revokeSession(t.deps, { id }, ADMIN);
    expect(t.audit.saved.map((r) => r.kind).slice(-2)).toEqual(['principal.revoked', 'session.revoked']);
    expect(t.audit.saved.at(-2)!.detail).toMatchObject({ cause: 'session_revoked_by_admin' });
    expect(codes(await decide(t.deps, statelessCall(token), PEP))).toEqual(['principal_revoked']);
    expect(await t.sessions.listRevocations(t.clock.now, 10)).toEqual([
      expect.objectContaining({
        selector: 'subject',
        iss: ISSUER,
        sub: 'alice',
        client_id: 'app-1',
        revoked_by: 'ops',
      }),
    ]);
    // The same subject through another client goes on.
    expect((await decide(t.deps, statelessCall(await t.idp.mint({ client_id: 'app-2' })), PEP)).allow).toBe(true);
  });

  it("'session': only that session ends", async () => {
    const { token, id } = await setUp();
    await revokeSession({ ...t.deps, adminRevoke: 'session' }, { id }, ADMIN);
    expect((await decide(t.deps, statelessCall(token), PEP)).allow).toBe(true);
    expect(codes(await decide(t.deps, statelessCall(token, { session: id }), PEP))).toEqual(['session_revoked']);
  });

  it('never cascades when the owner ends its own session, nor for an enforcement point', async () => {
    const mine = await setUp();
    await revokeSession(t.deps, { id: mine.id, token: mine.token }, ADMIN);
    const proxied = await setUp();
    await revokeSession(t.deps, { id: proxied.id }, PEP);
    expect(await t.sessions.listRevocations(t.clock.now, 10)).toEqual([]);
    expect((await decide(t.deps, statelessCall(mine.token), PEP)).allow).toBe(true);
  });

  it('an already revoked session cascades nothing more', async () => {
    const { id } = await setUp();
    await revokeSession(t.deps, { id }, PEP);
    await revokeSession(t.deps, { id }, ADMIN);
    expect(await t.sessions.listRevocations(t.clock.now, 10)).toEqual([]);
  });
});
