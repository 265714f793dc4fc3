import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/identity/actor.ts';
import type { Principal } from '../../src/identity/principal.ts';
import { MemorySharedUse } from '../../src/shared-use/memory.ts';
import { RedisSharedUse } from '../../src/shared-use/redis.ts';
import type { SharedUseConfig, SharedUseTracker } from '../../src/shared-use/tracker.ts';
import { FakeClock } from '../helpers/core.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';

const CONFIG: SharedUseConfig = { window_seconds: 600, clients: 3, workloads: 2, chains: 3, max_principals: 100 };

function principal(clientId: string | null, actor: readonly Partial<Actor>[] = [], sub = 'svc-reports'): Principal {
  return {
    iss: 'https://idp.example',
    sub,
    client_id: clientId,
    scopes: [],
    roles: [],
    dropped_roles: [],
    dropped_scopes: [],
    spiffe_id: null,
    kind: 'user',
    actor: actor.map((a) => ({
      iss: 'https://idp.example',
      sub: a.sub ?? 'agent',
      client_id: null,
      spiffe_id: a.spiffe_id ?? null,
      attested: false,
    })),
    may_act: null,
    claims: {},
  };
}

/**
 * Makes trackers of one store: two calls with the same `store` are two replicas over the
 * same counts (memory: the same object); `config` overrides the test config.
 */
type Make = (config?: Partial<SharedUseConfig>) => Promise<{ tracker: SharedUseTracker; peer: SharedUseTracker }>;

let redis: RedisServer;
const opened: SharedUseTracker[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const tracker of opened) await tracker.stop();
  await redis?.stop();
});

describeContract('memory', async (config = {}) => {
  const tracker = new MemorySharedUse({ ...CONFIG, ...config });
  return { tracker, peer: tracker };
});

describeContract('redis, two replicas', async (config = {}) => {
  const options = { url: redis.url, keyPrefix: `test:${randomUUID()}:`, commandTimeoutMs: 2_000 };
  const tracker = new RedisSharedUse({ ...CONFIG, ...config }, options);
  const peer = new RedisSharedUse({ ...CONFIG, ...config }, options);
  for (const t of [tracker, peer]) {
    await t.start();
    opened.push(t);
  }
  return { tracker, peer };
});

function describeContract(name: string, make: Make): void {
  describe(`shared principals (${name}): distinct clients, workloads and chains within a window`, () => {
    it('is shared at the client threshold, not below it, and says so once', async () => {
      const clock = new FakeClock();
      const { tracker, peer } = await make();
      const a = await tracker.observe(principal('app-1'), clock.now);
      expect(a).toMatchObject({ shared: false, clients: 1, chains: 1, became_shared: false });
      clock.advance(1_000);
      expect(await peer.observe(principal('app-2'), clock.now)).toMatchObject({ shared: false, clients: 2 });
      // The same client again is no new client.
      expect(await tracker.observe(principal('app-2'), clock.now)).toMatchObject({ shared: false, clients: 2 });
      clock.advance(1_000);
      expect(await tracker.observe(principal('app-3'), clock.now)).toMatchObject({
        shared: true,
        clients: 3,
        became_shared: true,
        window_seconds: 600,
      });
      expect(await tracker.observe(principal('app-1'), clock.now)).toMatchObject({
        shared: true,
        became_shared: false,
      });
      // Another subject is counted apart.
      expect(await tracker.observe(principal('app-9', [], 'alice'), clock.now)).toMatchObject({
        shared: false,
        clients: 1,
      });
    });

    it('forgets a value the window no longer covers, and becomes shared again on a new crossing', async () => {
      const clock = new FakeClock();
      const { tracker } = await make();
      await tracker.observe(principal('app-1'), clock.now);
      clock.advance(300_000);
      await tracker.observe(principal('app-2'), clock.now);
      clock.advance(300_000);
      // app-1 was seen exactly one window ago: it no longer counts.
      expect(await tracker.observe(principal('app-3'), clock.now)).toMatchObject({ shared: false, clients: 2 });
      clock.advance(1);
      expect(await tracker.observe(principal('app-4'), clock.now)).toMatchObject({ shared: true, became_shared: true });
      clock.advance(601_000);
      expect(await tracker.observe(principal('app-4'), clock.now)).toMatchObject({ shared: false, clients: 1 });
      await tracker.observe(principal('app-5'), clock.now);
      expect(await tracker.observe(principal('app-6'), clock.now)).toMatchObject({ shared: true, became_shared: true });
    });

    it('counts agent workloads and actor chains, each at its own threshold', async () => {
      const clock = new FakeClock();
      const { tracker } = await make();
      const agent = (n: number) => ({
        sub: `spiffe://example.org/agent-${n}`,
        spiffe_id: `spiffe://example.org/agent-${n}`,
      });
      expect(await tracker.observe(principal('app', [agent(1)]), clock.now)).toMatchObject({
        shared: false,
        workloads: 1,
        chains: 1,
      });
      expect(await tracker.observe(principal('app', [agent(2)]), clock.now)).toMatchObject({
        shared: true,
        workloads: 2,
        chains: 2,
        became_shared: true,
      });
      const { tracker: chains } = await make({ workloads: 0 });
      await chains.observe(principal('app'), clock.now);
      await chains.observe(principal('app', [{ sub: 'researcher' }]), clock.now);
      expect(await chains.observe(principal('app', [{ sub: 'researcher' }]), clock.now)).toMatchObject({
        shared: false,
      });
      expect(
        await chains.observe(principal('app', [{ sub: 'mailer' }, { sub: 'researcher' }]), clock.now),
      ).toMatchObject({
        shared: true,
        chains: 3,
        workloads: 0,
      });
    });

    it('counts nothing for a threshold of 0', async () => {
      const clock = new FakeClock();
      const { tracker: off } = await make({ clients: 0, workloads: 0, chains: 0 });
      for (let i = 0; i < 50; i++) {
        expect((await off.observe(principal(`app-${i}`, [{ sub: `a-${i}` }]), clock.now)).shared).toBe(false);
      }
    });
  });
}

describe('shared principals (memory): bounded', () => {
  it('tracks at most max_principals, forgetting the least recently seen', async () => {
    const clock = new FakeClock();
    const small = new MemorySharedUse({ ...CONFIG, max_principals: 2 });
    await small.observe(principal('app-1', [], 'p1'), clock.now);
    await small.observe(principal('app-2', [], 'p1'), clock.now);
    await small.observe(principal('app-1', [], 'p2'), clock.now);
    await small.observe(principal('app-1', [], 'p3'), clock.now);
    // p1 was the least recently seen: forgotten, it starts again from one client.
    expect(await small.observe(principal('app-3', [], 'p1'), clock.now)).toMatchObject({ clients: 1, shared: false });
  });
});

describe('shared principals (redis): layout', () => {
  it('keeps every key under the prefix, expiring with the window', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const tracker = new RedisSharedUse(CONFIG, { url: redis.url, keyPrefix, commandTimeoutMs: 2_000 });
    await tracker.start();
    opened.push(tracker);
    const clock = new FakeClock();
    for (const client of ['a', 'b', 'c']) await tracker.observe(principal(client), clock.now);
    const raw = new Redis(redis.url);
    try {
      const keys = await raw.keys(`${keyPrefix}*`);
      expect(keys.length).toBe(3);
      expect(keys.every((k) => k.startsWith(`${keyPrefix}u:`))).toBe(true);
      for (const key of keys) {
        const ttl = await raw.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(CONFIG.window_seconds * 1000);
      }
      // No client id in clear.
      for (const key of keys.filter((k) => k.endsWith(':c'))) {
        expect(await raw.zrange(key, '0', '-1')).not.toContain('a');
      }
    } finally {
      raw.disconnect();
    }
  });

  it('refuses with session_store_unavailable when Redis does not answer', async () => {
    const own = await startRedisServer();
    const tracker = new RedisSharedUse(CONFIG, { url: own.url, keyPrefix: 't:', commandTimeoutMs: 200 });
    await tracker.start();
    await own.stop();
    await expect(tracker.observe(principal('a'), Date.now())).rejects.toMatchObject({
      code: 'session_store_unavailable',
    });
    await tracker.stop();
  });
});
