import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import { createSession, revokeSession } from '../../src/decision/sessions.ts';
import { bindState } from '../../src/decision/bound-state.ts';
import { boundStateHash } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const TASK = 'task-7f3a';
const taskHash = boundStateHash('task', SERVER, TASK);

describe('tasks bound to their principal', () => {
  let t: TestCore;
  let alice: string;
  let bob: string;
  let session: string;
  beforeEach(async () => {
    t = await createTestCore();
    alice = await t.idp.mint({}, { subject: 'alice' });
    bob = await t.idp.mint({}, { subject: 'bob' });
    session = (await createSession(t.deps, { token: alice, server: SERVER }, PEP)).id!;
    t.audit.saved.length = 0;
  });

  const taskRequest = (token: string, method: string, taskId: string = TASK) =>
    decide(t.deps, { token, server: SERVER, mcp: { method, params: { taskId } } }, PEP);

  it('binds a task to the principal and session, audited by hash, and lets the owner use it', async () => {
    const view = await bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP);
    expect(view.id_hash).toBe(taskHash);
    expect(t.audit.saved).toEqual([
      expect.objectContaining({ kind: 'task.bound', principal: expect.objectContaining({ sub: 'alice' }) }),
    ]);
    expect(JSON.stringify(t.audit.saved)).not.toContain(TASK);
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
      const decision = await taskRequest(alice, method);
      expect(decision.allow, method).toBe(true);
    }
    const uses = t.audit.saved.filter((r) => r.kind === 'decision');
    expect(uses.map((r) => r.detail?.task)).toEqual([taskHash, taskHash, taskHash]);
  });

  it("refuses another principal's use of the task and records the replay", async () => {
    await bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP);
    t.audit.saved.length = 0;
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/update']) {
      const decision = await taskRequest(bob, method);
      expect(decision.allow, method).toBe(false);
      expect(codes(decision)).toEqual(['task_owner_mismatch']);
    }
    const replays = t.audit.saved.filter((r) => r.kind === 'task.owner_mismatch');
    expect(replays).toHaveLength(4);
    expect(replays[0]).toMatchObject({ session: taskHash, principal: { sub: 'bob' }, allow: false });
    expect(t.audit.saved.filter((r) => r.kind === 'decision').map((r) => r.detail?.task)).toEqual(
      Array(4).fill(taskHash),
    );
  });

  it('refuses a task id never bound, one for another server, and a request that names none', async () => {
    expect(codes(await taskRequest(alice, 'tasks/get', 'guessed'))).toEqual(['task_unknown']);
    await bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP);
    const other = await decide(
      t.deps,
      { token: alice, server: 'https://mcp.example.com/other', mcp: { method: 'tasks/get', params: { taskId: TASK } } },
      PEP,
    );
    expect(other.allow).toBe(false);
    const none = await decide(t.deps, { token: alice, server: SERVER, mcp: { method: 'tasks/get', params: {} } }, PEP);
    expect(codes(none)).toEqual(['task_unknown']);
  });

  it('closes a task to everyone once its session is revoked or expired', async () => {
    await bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP);
    await revokeSession(t.deps, { id: session, token: alice }, PEP);
    expect(codes(await taskRequest(alice, 'tasks/get'))).toEqual(['task_closed']);
    expect(codes(await taskRequest(bob, 'tasks/get'))).toEqual(['task_owner_mismatch']);

    const second = (await createSession(t.deps, { token: alice, server: SERVER }, PEP)).id!;
    await bindState(t.deps, { token: alice, session: second, server: SERVER, kind: 'task', value: 'task-2' }, PEP);
    expect((await taskRequest(alice, 'tasks/get', 'task-2')).allow).toBe(true);
    // Past the session's idle expiry (15 min for a reader) but not the task's own (the
    // session's absolute one): the parent is what closes it.
    t.clock.advance(20 * 60 * 1000);
    const later = await t.idp.mint({}, { subject: 'alice' });
    expect(codes(await taskRequest(later, 'tasks/get', 'task-2'))).toEqual(['task_closed']);
  });

  it('lists only the principal’s own live tasks', async () => {
    await bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP);
    const bobSession = (await createSession(t.deps, { token: bob, server: SERVER }, PEP)).id!;
    await bindState(t.deps, { token: bob, session: bobSession, server: SERVER, kind: 'task', value: 'bobs' }, PEP);
    const list = (token: string) =>
      decide(
        t.deps,
        { token, server: SERVER, mcp: { method: 'tasks/list', params: {}, candidates: [TASK, 'bobs', 'unbound'] } },
        PEP,
      );
    expect((await list(alice)).visible_tools).toEqual([TASK]);
    expect((await list(bob)).visible_tools).toEqual(['bobs']);
  });

  it('binds idempotently for the owner and refuses binding the same id to another principal', async () => {
    await bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP);
    await expect(
      bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP),
    ).resolves.toMatchObject({ id_hash: taskHash });
    await expect(
      bindState(t.deps, { token: bob, server: SERVER, kind: 'task', value: TASK }, PEP),
    ).rejects.toMatchObject({
      code: 'task_owner_mismatch',
    });
    expect(t.audit.saved.filter((r) => r.kind === 'task.owner_mismatch')).toEqual([
      expect.objectContaining({ session: taskHash, principal: expect.objectContaining({ sub: 'bob' }) }),
    ]);
    expect((await taskRequest(alice, 'tasks/get')).allow).toBe(true);
  });

  it("refuses binding in another principal's session, or with a bad token or task id", async () => {
    await expect(
      bindState(t.deps, { token: bob, session, server: SERVER, kind: 'task', value: TASK }, PEP),
    ).rejects.toMatchObject({
      code: 'session_owner_mismatch',
    });
    await expect(
      bindState(t.deps, { token: 'nope', server: SERVER, kind: 'task', value: TASK }, PEP),
    ).rejects.toMatchObject({
      code: 'invalid_token',
    });
    await expect(
      bindState(t.deps, { token: alice, server: SERVER, kind: 'task', value: '' }, PEP),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(codes(await taskRequest(bob, 'tasks/get'))).toEqual(['task_unknown']);
  });

  it('does not bind a task whose record the audit sink refused', async () => {
    t.audit.failing = true;
    await expect(
      bindState(t.deps, { token: alice, session, server: SERVER, kind: 'task', value: TASK }, PEP),
    ).rejects.toMatchObject({
      code: 'audit_unavailable',
    });
    t.audit.failing = false;
    expect(codes(await taskRequest(alice, 'tasks/get'))).toEqual(['task_closed']);
  });
});
