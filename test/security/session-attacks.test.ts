import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import { createSession, revokeSession, widenSession } from '../../src/decision/sessions.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

/** Every way of abusing session state is tried, and refused with its own reason. */
describe('session state attacks', () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await createTestCore();
  });

  const read = (token: string, extra: Partial<DecideRequest> = {}): DecideRequest => ({
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    ...extra,
  });
  const search = (token: string, state: string, extra: Partial<DecideRequest['mcp']> = {}): DecideRequest => ({
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: 'search_docs', arguments: { query: 'x', state } }, ...extra },
  });
  const open = async (
    claims: Record<string, unknown> = {},
    extra: { kind?: 'state-handle'; tools?: string[] } = {},
  ) => {
    const token = await t.idp.mint(claims);
    const view = await createSession(t.deps, { token, server: SERVER, ...extra }, PEP);
    return { token, id: view.id as string };
  };

  it('replay by another principal: denied, and recorded as a security event', async () => {
    const { id } = await open();
    const mallory = await t.idp.mint({}, { subject: 'mallory' });
    const d = await decide(t.deps, read(mallory, { session: id }), PEP);
    expect(codes(d)).toEqual(['session_owner_mismatch']);
    const event = t.audit.saved.find((r) => r.kind === 'session.owner_mismatch');
    expect(event).toMatchObject({
      session: hashSessionId(id),
      principal: { sub: 'mallory' },
      decision_id: d.decision_id,
      caller: PEP.id,
    });
  });

  it('a guessed id of the right shape, and a forged one, are unknown', async () => {
    const token = await t.idp.mint();
    await open();
    for (const session of [`mws_${randomBytes(32).toString('base64url')}`, 'mws_../../etc/passwd', '']) {
      const d = await decide(t.deps, read(token, session === '' ? {} : { session }), PEP);
      if (session === '') expect(d.allow).toBe(true);
      else expect(codes(d)).toEqual(['session_unknown']);
    }
  });

  it('reuse after revoke', async () => {
    const { token, id } = await open();
    await revokeSession(t.deps, { id }, PEP);
    expect(codes(await decide(t.deps, read(token, { session: id }), PEP))).toEqual(['session_revoked']);
  });

  it('reuse after expiry (fake clock)', async () => {
    const { id } = await open();
    t.clock.advance(8 * 3600 * 1000);
    expect(codes(await decide(t.deps, read(await t.idp.mint(), { session: id }), PEP))).toEqual(['session_expired']);
  });

  describe('state handles (MCP 2026-07-28)', () => {
    it('are honoured in the argument the policy data names, for their owner and tool', async () => {
      const { token, id } = await open({}, { kind: 'state-handle', tools: ['search_docs'] });
      expect(id).toMatch(/^mwh_/);
      const d = await decide(t.deps, search(token, id), PEP);
      expect(d.allow).toBe(true);
      expect(t.audit.saved.at(-1)).toMatchObject({ kind: 'decision', detail: { handle: hashSessionId(id) } });
    });

    it('a handle presented by another principal is denied', async () => {
      const { id } = await open({}, { kind: 'state-handle', tools: ['search_docs'] });
      const bob = await t.idp.mint({}, { subject: 'bob' });
      expect(codes(await decide(t.deps, search(bob, id), PEP))).toEqual(['session_owner_mismatch']);
    });

    it('a handle moved to another tool is denied', async () => {
      const { token, id } = await open({}, { kind: 'state-handle', tools: ['search_docs'] });
      const moved: DecideRequest = {
        token,
        server: SERVER,
        mcp: {
          method: 'tools/call',
          params: { name: 'fs_read', arguments: { path: '/srv/data/a', cursor: id } },
          handle_argument: 'cursor',
        },
      };
      expect(codes(await decide(t.deps, moved, PEP))).toEqual(['tool_not_in_session_scope']);
    });

    it('a forged handle is unknown; a session id is not a handle, nor the reverse', async () => {
      const token = await t.idp.mint();
      expect(codes(await decide(t.deps, search(token, `mwh_${randomBytes(32).toString('base64url')}`), PEP))).toEqual([
        'session_unknown',
      ]);
      const session = await open();
      expect(codes(await decide(t.deps, search(session.token, session.id), PEP))).toEqual(['session_kind_mismatch']);
      const handle = await open({}, { kind: 'state-handle', tools: ['fs_read'] });
      expect(codes(await decide(t.deps, read(handle.token, { session: handle.id }), PEP))).toEqual([
        'session_kind_mismatch',
      ]);
    });
  });

  describe('widening', () => {
    it('a decision can never widen scope', async () => {
      const { token, id } = await open({ roles: ['writer'] }, { tools: ['fs_read'] });
      const write: DecideRequest = {
        token,
        server: SERVER,
        session: id,
        mcp: { method: 'tools/call', params: { name: 'fs_write', arguments: { path: '/srv/data/a' } } },
      };
      expect(codes(await decide(t.deps, write, PEP))).toEqual(['tool_not_in_session_scope']);
      expect((await t.sessions.get(hashSessionId(id)))!.scope).toEqual(['fs_read']);
    });

    it('is a fresh authorization: allowed tools are added and audited, others refused', async () => {
      const { token, id } = await open({ roles: ['writer'] }, { tools: ['fs_read'] });
      const view = await widenSession(t.deps, { id, token, add: ['fs_write'] }, PEP);
      expect(view.scope).toEqual(['fs_read', 'fs_write']);
      expect(t.audit.saved.at(-1)).toMatchObject({
        kind: 'session.widened',
        detail: { added: ['fs_write'], previous_scope: ['fs_read'] },
      });
      // One refused tool refuses the whole widening: fs_delete (a writer's, its calls
      // waiting for an approval) is not added either.
      await expect(widenSession(t.deps, { id, token, add: ['fs_delete', 'debug_eval'] }, PEP)).rejects.toMatchObject({
        code: 'session_not_granted',
        reasons: [expect.objectContaining({ code: 'tool_unknown' })],
      });
      expect((await t.sessions.get(hashSessionId(id)))!.scope).toEqual(['fs_read', 'fs_write']);
    });

    it('by another principal, or of a revoked session, is refused', async () => {
      const { token, id } = await open({ roles: ['writer'] }, { tools: ['fs_read'] });
      const mallory = await t.idp.mint({ roles: ['admin'] }, { subject: 'mallory' });
      await expect(widenSession(t.deps, { id, token: mallory, add: ['fs_write'] }, PEP)).rejects.toMatchObject({
        code: 'session_owner_mismatch',
      });
      await revokeSession(t.deps, { id }, PEP);
      await expect(widenSession(t.deps, { id, token, add: ['fs_write'] }, PEP)).rejects.toMatchObject({
        code: 'session_revoked',
      });
    });

    it('by another PEP than the one that created the session is refused', async () => {
      const { token, id } = await open({ roles: ['writer'] }, { tools: ['fs_read'] });
      await expect(
        widenSession(t.deps, { id, token, add: ['fs_write'] }, { id: 'pep-2', role: 'pep' }),
      ).rejects.toMatchObject({ code: 'session_forbidden' });
    });

    it('whose audit record is refused does not live on: the session is revoked', async () => {
      const { token, id } = await open({ roles: ['writer'] }, { tools: ['fs_read'] });
      t.audit.failing = true;
      await expect(widenSession(t.deps, { id, token, add: ['fs_write'] }, PEP)).rejects.toMatchObject({
        code: 'audit_unavailable',
      });
      expect((await t.sessions.get(hashSessionId(id)))!.revoked_at).not.toBeNull();
    });
  });
});
