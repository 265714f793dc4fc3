import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryApprovalStore } from '../../src/approval/memory-store.ts';
import type { ApprovalStore } from '../../src/approval/record.ts';
import { RedisApprovalStore } from '../../src/approval/redis-store.ts';
import { decideApproval } from '../../src/decision/approvals.ts';
import { decide } from '../../src/decision/decide.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { createSession } from '../../src/decision/sessions.ts';
import { gatedEngine, withApprovals } from '../helpers/approvals.ts';
import { createTestCore, loadDefaultEngine, PEP } from '../helpers/core.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';
import { SERVER } from '../helpers/tokens.ts';

// Identical calls racing for one grant: exactly one is allowed, in memory and across two
// replicas sharing Redis (half the calls through each), round after round.
const ROUNDS = 40;
const LIMITS = { maxGrantMs: 600_000, retainMs: 3_600_000 };

let redis: RedisServer;
const opened: RedisApprovalStore[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const store of opened) await store.stop();
  await redis?.stop();
});

async function redisPair(): Promise<[ApprovalStore, ApprovalStore]> {
  const keyPrefix = `race:${randomUUID()}:`;
  const open = async () => {
    const store = new RedisApprovalStore({ url: redis.url, keyPrefix, commandTimeoutMs: 2_000, ...LIMITS });
    await store.start();
    opened.push(store);
    return store;
  };
  return [await open(), await open()];
}

describe.each([
  [
    'memory',
    async (): Promise<[ApprovalStore, ApprovalStore]> => {
      const store = new MemoryApprovalStore(LIMITS);
      return [store, store];
    },
  ],
  ['redis, two replicas', redisPair],
])('one grant, many identical calls (%s)', (_name, stores) => {
  it.each([2, 8])('allows exactly one of %i racing calls, every round', async (racers) => {
    const t = await createTestCore({
      engine: gatedEngine(await loadDefaultEngine(), { fs_write: { approvers: { roles: ['admin'] } } }),
    });
    const [one, two] = await stores();
    const replicas: CoreDeps[] = [withApprovals(t.deps, one), withApprovals(t.deps, two)];
    const alice = await t.idp.mint({ roles: ['writer'] }, { subject: 'alice' });
    const bob = await t.idp.mint({ roles: ['admin'] }, { subject: 'bob' });
    const session = (await createSession(t.deps, { token: alice, server: SERVER, tools: ['fs_write'] }, PEP)).id!;
    for (let round = 0; round < ROUNDS; round += 1) {
      const request = {
        token: alice,
        session,
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_write', arguments: { path: `/srv/data/${round}.txt` } } },
      };
      const parked = await decide(replicas[round % 2]!, request, PEP);
      const id = parked.approval!.id;
      await decideApproval(
        replicas[(round + 1) % 2]!,
        { id, token: bob, decision: 'grant' },
        { id: 'console', role: 'admin' },
      );
      const answers = await Promise.all(
        Array.from({ length: racers }, (_, i) => decide(replicas[i % 2]!, request, PEP)),
      );
      expect(
        answers.filter((a) => a.allow),
        `round ${round}`,
      ).toHaveLength(1);
      const losers = answers.filter((a) => !a.allow);
      expect(losers.every((a) => a.reasons[0]!.code === 'approval_required')).toBe(true);
      const consumed = t.audit.saved.filter((r) => r.kind === 'approval.consumed' && r.detail?.approval === id);
      expect(consumed).toHaveLength(1);
    }
  });
});
