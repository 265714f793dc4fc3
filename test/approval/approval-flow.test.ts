import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryApprovalStore } from '../../src/approval/memory-store.ts';
import { sweepApprovals } from '../../src/decision/approval-sweep.ts';
import { decideApproval, getApproval, revokeApproval } from '../../src/decision/approvals.ts';
import { decide } from '../../src/decision/decide.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { revokePrincipal } from '../../src/decision/revocations.ts';
import { createSession, revokeSession } from '../../src/decision/sessions.ts';
import type { Caller, Decision } from '../../src/decision/types.ts';
import { gatedEngine, PAGE, withApprovals } from '../helpers/approvals.ts';
import { createTestCore, loadDefaultEngine, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const ADMIN: Caller = { id: 'console', role: 'admin' };
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

const FOUR_EYES = { approvers: { roles: ['admin'] }, reason: 'fs_write changes files' };

describe('approvals: a parked call, a one-time grant', () => {
  let t: TestCore;
  let deps: CoreDeps;
  let alice: string;
  let bob: string;
  let session: string;
  const call = (token: string, args: Record<string, unknown> = { path: '/srv/data/a.txt' }, s = session) =>
    decide(
      deps,
      {
        token,
        session: s,
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_write', arguments: args } },
      },
      PEP,
    );
  const approve = (token: string, id: string, decision: 'grant' | 'deny' = 'grant') =>
    decideApproval(deps, { id, token, decision, note: 'ok' }, ADMIN);

  beforeEach(async () => {
    t = await createTestCore({
      engine: gatedEngine(await loadDefaultEngine(), {
        fs_write: FOUR_EYES,
        fs_list: { approvers: 'self' },
        fs_read: { approvers: { roles: 'admin' } },
      }),
    });
    deps = withApprovals(t.deps, new MemoryApprovalStore({ maxGrantMs: 600_000, retainMs: 3_600_000 }));
    alice = await t.idp.mint({ roles: ['writer'], client_id: 'agent-app' }, { subject: 'alice' });
    bob = await t.idp.mint({ roles: ['admin'], client_id: 'approvals-page' }, { subject: 'bob' });
    session = (
      await createSession(deps, { token: alice, server: SERVER, tools: ['fs_write', 'fs_list', 'fs_read'] }, PEP)
    ).id!;
    t.audit.saved.length = 0;
  });

  async function parked(decision: Decision): Promise<string> {
    expect(decision.allow).toBe(false);
    expect(codes(decision)).toEqual(['approval_required']);
    expect(decision.approval).toMatchObject({ url: `${PAGE}/${decision.approval!.id}`, reason: FOUR_EYES.reason });
    expect(decision.approval!.id).toMatch(/^mwa_[A-Za-z0-9_-]{43}$/);
    return decision.approval!.id;
  }

  it('parks the call, an approver grants it, the retry is allowed once, and the same call parks again', async () => {
    const id = await parked(await call(alice));
    expect(t.audit.saved.map((r) => r.kind)).toEqual(['approval.requested', 'decision']);
    expect(t.audit.saved[0]).toMatchObject({
      principal: { sub: 'alice', client_id: 'agent-app' },
      tool: 'fs_write',
      detail: { approval: id, approvers: { roles: ['admin'] } },
    });
    // A retry before the approval is the same request, not a second one for the approver.
    expect((await call(alice)).approval?.id).toBe(id);
    expect(t.audit.saved.filter((r) => r.kind === 'approval.requested')).toHaveLength(1);

    const granted = await approve(bob, id);
    expect(granted).toMatchObject({ state: 'granted', decided_by: { sub: 'bob', caller: 'console' }, note: 'ok' });
    expect(t.audit.saved.at(-1)).toMatchObject({
      kind: 'approval.granted',
      principal: { sub: 'bob' },
      detail: { approval: id, requester: { sub: 'alice' } },
    });

    const used = await call(alice);
    expect(used).toMatchObject({ allow: true, obligations: {} });
    expect(used.approval).toBeUndefined();
    const consumed = t.audit.saved.find((r) => r.kind === 'approval.consumed')!;
    expect(consumed).toMatchObject({
      decision_id: used.decision_id,
      detail: { approval: id, granted_by: { sub: 'bob' } },
    });

    // Replayed after its use: the grant is gone, the call parks under a new request.
    const again = await parked(await call(alice));
    expect(again).not.toBe(id);
  });

  it('covers only the exact call: another argument, session, client, principal or tool is not covered', async () => {
    const id = await parked(await call(alice));
    await approve(bob, id);
    // Key order and number spelling do not change the call (RFC 8785), a value does.
    expect(await parked(await call(alice, { path: '/srv/data/b.txt' }))).not.toBe(id);
    const other = (await createSession(deps, { token: alice, server: SERVER, tools: ['fs_write'] }, PEP)).id!;
    expect(await parked(await call(alice, undefined, other))).not.toBe(id);
    const otherClient = await t.idp.mint({ roles: ['writer'], client_id: 'other-app' }, { subject: 'alice' });
    const clientSession = (await createSession(deps, { token: otherClient, server: SERVER, tools: ['fs_write'] }, PEP))
      .id!;
    expect(await parked(await call(otherClient, undefined, clientSession))).not.toBe(id);
    const carol = await t.idp.mint({ roles: ['writer'], client_id: 'agent-app' }, { subject: 'carol' });
    const carolSession = (await createSession(deps, { token: carol, server: SERVER, tools: ['fs_write'] }, PEP)).id!;
    expect(await parked(await call(carol, undefined, carolSession))).not.toBe(id);
    // Presenting alice's session is refused before any grant is looked at.
    expect(codes(await call(carol))).toEqual(['session_owner_mismatch']);
    // The grant is still there for the exact call, once.
    expect((await call(alice)).allow).toBe(true);
    expect((await call(alice)).allow).toBe(false);
  });

  it('canonicalizes arguments: the same values in another key order are the same call', async () => {
    const id = await parked(await call(alice, { path: '/srv/data/a.txt', mode: { b: 1, a: 2 } }));
    await approve(bob, id);
    expect((await call(alice, { mode: { a: 2.0, b: 1 }, path: '/srv/data/a.txt' })).allow).toBe(true);
  });

  it('refuses the requester approving its own call, even with the approver role (four eyes)', async () => {
    const selfAdmin = await t.idp.mint(
      { roles: ['writer', 'admin'], client_id: 'approvals-page' },
      { subject: 'alice' },
    );
    const id = await parked(await call(alice));
    await expect(approve(selfAdmin, id)).rejects.toMatchObject({ code: 'approval_forbidden' });
    expect((await call(alice)).allow).toBe(false);
    expect(t.audit.saved.some((r) => r.kind === 'approval.granted')).toBe(false);
  });

  it("binds the grant to the requester's actor chain, and takes no decision from an agent", async () => {
    const viaAgent = await t.idp.mint(
      { roles: ['writer'], client_id: 'agent-app', act: { sub: 'researcher' } },
      { subject: 'alice' },
    );
    const agentSession = (await createSession(deps, { token: viaAgent, server: SERVER, tools: ['fs_write'] }, PEP)).id!;
    const id = await parked(await call(viaAgent, undefined, agentSession));
    expect(t.audit.saved.find((r) => r.kind === 'approval.requested')!.principal?.actor).toEqual([
      expect.objectContaining({ sub: 'researcher' }),
    ]);
    // bob's token as held by bob's own assistant is not bob.
    const bobsAgent = await t.idp.mint(
      { roles: ['admin'], client_id: 'approvals-page', act: { sub: 'assistant' } },
      { subject: 'bob' },
    );
    await expect(approve(bobsAgent, id)).rejects.toMatchObject({
      code: 'approval_forbidden',
      message: expect.stringContaining('assistant acting for bob'),
    });
    await approve(bob, id);
    // Another chain for alice gets no use of the grant: its call is a new request.
    const otherAgent = await t.idp.mint(
      { roles: ['writer'], client_id: 'agent-app', act: { sub: 'mailer' } },
      { subject: 'alice' },
    );
    const otherSession = (await createSession(deps, { token: otherAgent, server: SERVER, tools: ['fs_write'] }, PEP))
      .id!;
    expect((await call(otherAgent, undefined, otherSession)).approval?.id).not.toBe(id);
    expect((await call(viaAgent, undefined, agentSession)).allow).toBe(true);
  });

  it('refuses an approver without the role, an admin key without a token, and a bad id', async () => {
    const id = await parked(await call(alice));
    const dave = await t.idp.mint({ roles: ['writer'] }, { subject: 'dave' });
    await expect(approve(dave, id)).rejects.toMatchObject({ code: 'approval_forbidden' });
    await expect(decideApproval(deps, { id, decision: 'grant' }, ADMIN)).rejects.toMatchObject({
      code: 'token_missing',
    });
    await expect(approve(bob, 'mwa_nope')).rejects.toMatchObject({ code: 'approval_unknown' });
    const forged = await t.idp.mint({ roles: ['admin'] }, { subject: 'mallory', audience: 'https://other.example' });
    await expect(approve(forged, id)).rejects.toMatchObject({ code: 'audience_mismatch' });
  });

  it('lets one decision win: a second approver, or a deny after the grant, is approval_closed', async () => {
    const id = await parked(await call(alice));
    const erin = await t.idp.mint({ roles: ['admin'] }, { subject: 'erin' });
    const results = await Promise.allSettled([approve(bob, id), approve(erin, id, 'deny')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'approval_closed' } });
  });

  it('records a deny, and the retried call parks under a new request', async () => {
    const id = await parked(await call(alice));
    expect(await approve(bob, id, 'deny')).toMatchObject({ state: 'denied' });
    expect(t.audit.saved.at(-1)).toMatchObject({ kind: 'approval.denied', principal: { sub: 'bob' }, allow: false });
    expect(await parked(await call(alice))).not.toBe(id);
  });

  it('expires a grant nobody used and a request nobody decided, each recorded once', async () => {
    const id = await parked(await call(alice));
    await approve(bob, id);
    t.clock.advance(300_000);
    expect(await parked(await call(alice))).not.toBe(id);
    t.audit.saved.length = 0;
    expect(await sweepApprovals(deps, 'approvals')).toBe(1);
    expect(t.audit.saved).toEqual([
      expect.objectContaining({
        kind: 'approval.expired',
        detail: expect.objectContaining({ approval: id, was: 'granted' }),
      }),
    ]);
    const pending = (await call(alice)).approval!.id;
    t.clock.advance(900_000);
    const later = await t.idp.mint({ roles: ['admin'] }, { subject: 'bob' });
    await expect(approve(later, pending)).rejects.toMatchObject({ code: 'approval_closed' });
    expect(await sweepApprovals(deps, 'approvals')).toBe(1);
    expect(await sweepApprovals(deps, 'approvals')).toBe(0);
    expect(t.audit.saved.at(-1)).toMatchObject({
      kind: 'approval.expired',
      detail: { approval: pending, was: 'pending' },
    });
  });

  it('ends the grant with its session, its principal, or its own revocation', async () => {
    const id = await parked(await call(alice));
    await approve(bob, id);
    const view = await revokeApproval(deps, id, ADMIN, 'wrong file');
    expect(view.state).toBe('revoked');
    expect(t.audit.saved.at(-1)).toMatchObject({
      kind: 'approval.revoked',
      detail: { approval: id, note: 'wrong file' },
    });
    await expect(revokeApproval(deps, id, ADMIN)).rejects.toMatchObject({ code: 'approval_closed' });
    expect(codes(await call(alice))).toEqual(['approval_required']);

    const second = (await call(alice)).approval!.id;
    await approve(bob, second);
    // The owner ends its session (an admin's revocation would also revoke the principal).
    await revokeSession(deps, { id: session, token: alice }, PEP);
    expect(codes(await call(alice))).toEqual(['session_revoked']);

    const fresh = await t.idp.mint({ roles: ['writer'], client_id: 'agent-app' }, { subject: 'alice' });
    const third = (await createSession(deps, { token: fresh, server: SERVER, tools: ['fs_write'] }, PEP)).id!;
    const parkedId = (await call(fresh, undefined, third)).approval!.id;
    await approve(bob, parkedId);
    t.clock.advance(1000);
    await revokePrincipal(deps, { subject: 'alice', note: 'incident' }, ADMIN);
    expect(codes(await call(fresh, undefined, third))).toEqual(['principal_revoked']);
    // The principal's live grant is ended too, so no queue or listing shows it usable.
    expect(await getApproval(deps, parkedId)).toMatchObject({ state: 'revoked', revoked_by: { caller: 'console' } });
    const ended = t.audit.saved.filter((r) => r.kind === 'approval.revoked' && r.detail?.with_principal === true);
    expect(ended.map((r) => r.detail?.approval).sort()).toEqual([second, parkedId].sort());
  });

  it("'self': the requester confirms after signing in again; a token from before the call does not", async () => {
    const list = () =>
      decide(
        deps,
        {
          token: alice,
          session,
          server: SERVER,
          mcp: { method: 'tools/call', params: { name: 'fs_list', arguments: { path: '/srv/data/' } } },
        },
        PEP,
      );
    const before = Math.floor(t.clock.now / 1000) - 60;
    const stale = await t.idp.mint({ roles: ['writer'], auth_time: before }, { subject: 'alice' });
    const parkedAt = t.clock.now;
    const id = (await list()).approval!.id;
    await expect(approve(stale, id)).rejects.toMatchObject({ code: 'approval_forbidden' });
    await expect(approve(bob, id)).rejects.toMatchObject({ code: 'approval_forbidden' });
    const fresh = await t.idp.mint(
      { roles: ['writer'], auth_time: Math.floor(parkedAt / 1000) + 5 },
      { subject: 'alice' },
    );
    expect(await approve(fresh, id)).toMatchObject({ state: 'granted', decided_by: { sub: 'alice' } });
    expect((await list()).allow).toBe(true);
  });

  it('denies a malformed obligation (approval_invalid), and an approval where approvals are off', async () => {
    const read = (d: CoreDeps) =>
      decide(
        d,
        {
          token: alice,
          session,
          server: SERVER,
          mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
        },
        PEP,
      );
    const invalid = await read(deps);
    expect(invalid.allow).toBe(false);
    expect(codes(invalid)).toEqual(['approval_invalid']);
    expect(invalid.reasons[0]!.message).toContain('approval.approvers');
    const { approvals: _off, ...without } = deps;
    const off = await decide(
      without,
      {
        token: alice,
        session,
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_write', arguments: { path: '/srv/data/a' } } },
      },
      PEP,
    );
    expect(codes(off)).toEqual(['obligation_unsupported']);
  });

  it('takes back a grant whose record the audit sink refused', async () => {
    const id = await parked(await call(alice));
    t.audit.failing = true;
    await expect(approve(bob, id)).rejects.toMatchObject({ code: 'audit_unavailable' });
    t.audit.failing = false;
    expect(codes(await call(alice))).toEqual(['approval_required']);
  });
});
