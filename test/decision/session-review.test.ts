import { beforeEach, describe, expect, it } from 'vitest';
import { createSession, reviewSession, revokeSession } from '../../src/decision/sessions.ts';
import type { Caller } from '../../src/decision/types.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { errorCodeOf } from '../helpers/error-code.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

// What the console does to a session it only knows by hash: an admin revokes it with a
// note, or marks it reviewed. A PEP may not stand a hash in for the id it holds.
const CONSOLE: Caller = { id: 'console:bob', role: 'admin' };

describe('a session acted on by hash, with a note', () => {
  let t: TestCore;
  let id: string;
  beforeEach(async () => {
    t = await createTestCore();
    id = (await createSession(t.deps, { token: await t.idp.mint(), server: SERVER }, PEP)).id!;
  });

  it('revokes by hash for an admin, keeping the note in the audit record and the owner rule', async () => {
    const view = await revokeSession(t.deps, { id: hashSessionId(id), by_hash: true, note: 'incident 42' }, CONSOLE);
    expect(view.revoked_at).not.toBeNull();
    const revoked = t.audit.saved.find((r) => r.kind === 'session.revoked');
    expect(revoked?.detail).toMatchObject({ by: { caller: 'console:bob', role: 'admin' }, note: 'incident 42' });
    const rule = t.audit.saved.find((r) => r.kind === 'principal.revoked');
    expect(rule?.detail).toMatchObject({ note: 'incident 42' });
  });

  it('refuses a hash from a PEP, even the one that created the session', async () => {
    expect(await errorCodeOf(revokeSession(t.deps, { id: hashSessionId(id), by_hash: true }, PEP))).toBe(
      'session_unknown',
    );
    expect((await t.deps.sessions.get(hashSessionId(id)))?.revoked_at).toBeNull();
  });

  it('refuses a malformed or unknown hash', async () => {
    for (const hash of ['zz', 'A'.repeat(64), '0'.repeat(64)]) {
      expect(await errorCodeOf(revokeSession(t.deps, { id: hash, by_hash: true }, CONSOLE))).toBe('session_unknown');
      expect(await errorCodeOf(reviewSession(t.deps, { id_hash: hash }, CONSOLE))).toBe('session_unknown');
    }
  });

  it('records session.reviewed with the reviewer and the note, and changes nothing in the store', async () => {
    const before = await t.deps.sessions.get(hashSessionId(id));
    await reviewSession(t.deps, { id_hash: hashSessionId(id), note: 'expected: nightly job' }, CONSOLE);
    const reviewed = t.audit.saved.at(-1);
    expect(reviewed).toMatchObject({ kind: 'session.reviewed', session: hashSessionId(id) });
    expect(reviewed?.detail).toEqual({ by: { caller: 'console:bob', role: 'admin' }, note: 'expected: nightly job' });
    expect(await t.deps.sessions.get(hashSessionId(id))).toEqual(before);
  });

  it('refuses a review from a PEP', async () => {
    expect(await errorCodeOf(reviewSession(t.deps, { id_hash: hashSessionId(id) }, PEP))).toBe('session_unknown');
    expect(t.audit.saved.some((r) => r.kind === 'session.reviewed')).toBe(false);
  });
});
