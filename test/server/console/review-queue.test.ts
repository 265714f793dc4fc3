import { beforeEach, describe, expect, it } from 'vitest';
import { createSession, reviewSession, revokeSession, widenSession } from '../../../src/decision/sessions.ts';
import type { Caller } from '../../../src/decision/types.ts';
import { reviewQueue } from '../../../src/server/console/review-queue.ts';
import { hashSessionId } from '../../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../../helpers/core.ts';
import { SERVER } from '../../helpers/tokens.ts';

// The review queue: live sessions that carry agent context and deserve a look, flagged
// why; a review takes one off until it widens again.
const CONSOLE: Caller = { id: 'console:bob', role: 'admin' };
// Below the default policy's session limits (30 min absolute, 10 min idle), or a flagged session would have expired.
const THRESHOLDS = { long_lived_seconds: 300, idle_seconds: 240 };
const HOUR = 3_600_000;
const AGENT = { sub: 'agent-7', client_id: 'agent-app' };

describe('reviewQueue', () => {
  let t: TestCore;
  const open = async (claims: Record<string, unknown> = {}) => {
    const token = await t.idp.mint({ roles: ['writer'], ...claims });
    const id = (await createSession(t.deps, { token, server: SERVER, tools: ['fs_read'] }, PEP)).id!;
    return { token, id, hash: hashSessionId(id) };
  };
  const flagsOf = async (includeReviewed = false) =>
    Object.fromEntries(
      (await reviewQueue(t.deps, THRESHOLDS, includeReviewed)).map((i) => [i.record.id_hash, i.flags]),
    );

  beforeEach(async () => {
    t = await createTestCore();
  });

  it('leaves a fresh, narrow session of a subject acting itself off the queue', async () => {
    await open();
    expect(await flagsOf()).toEqual({});
  });

  it('flags a delegated session, a widened one, and an idle one', async () => {
    const delegated = await open({ act: AGENT });
    const widened = await open({ sub: 'carol' });
    await widenSession(t.deps, { id: widened.id, token: widened.token, add: ['fs_write'] }, PEP);
    expect(await flagsOf()).toEqual({ [delegated.hash]: ['delegated'], [widened.hash]: ['widened'] });
    const quiet = await open({ sub: 'erin' });
    t.clock.advance(241_000);
    expect((await flagsOf())[quiet.hash]).toEqual(['idle']);
  });

  it('takes a reviewed session off until it widens again; shows it with include-reviewed', async () => {
    const s = await open({ act: AGENT });
    await reviewSession(t.deps, { id_hash: s.hash, note: 'expected' }, CONSOLE);
    expect(await flagsOf()).toEqual({});
    const all = await reviewQueue(t.deps, THRESHOLDS, true);
    expect(all.map((i) => [i.record.id_hash, i.reviewedAt !== null])).toEqual([[s.hash, true]]);
    t.clock.advance(1000);
    await widenSession(t.deps, { id: s.id, token: s.token, add: ['fs_write'] }, PEP);
    expect(await flagsOf()).toEqual({ [s.hash]: ['delegated', 'widened'] });
  });

  it('flags a long-lived session, and drops a revoked one', async () => {
    const long = await open({ exp: Math.floor((t.clock.now + HOUR) / 1000) });
    const revoked = await open({ sub: 'dave', act: AGENT });
    await revokeSession(t.deps, { id: revoked.id }, PEP);
    t.clock.advance(THRESHOLDS.long_lived_seconds * 1000 + 1000);
    const flags = await flagsOf();
    expect(Object.keys(flags)).not.toContain(revoked.hash);
    expect(flags[long.hash] ?? []).toContain('long-lived');
  });
});
