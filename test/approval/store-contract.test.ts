import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryApprovalStore } from '../../src/approval/memory-store.ts';
import { droppableAt, type ApprovalStore } from '../../src/approval/record.ts';
import { RedisApprovalStore } from '../../src/approval/redis-store.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';
import { approvalRecord, describeApprovalStoreContract, MAX_GRANT_MS, NOW, RETAIN_MS } from './store-contract.ts';

describeApprovalStoreContract('memory', async () => {
  const store = new MemoryApprovalStore({ maxGrantMs: MAX_GRANT_MS, retainMs: RETAIN_MS });
  await store.start();
  return { store, peer: store };
});

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** A store under `keyPrefix` (a fresh prefix is a fresh, empty store), not yet started. */
function redisStore(url: string, keyPrefix: string, commandTimeoutMs = 2_000): RedisApprovalStore {
  return new RedisApprovalStore({ url, keyPrefix, commandTimeoutMs, maxGrantMs: MAX_GRANT_MS, retainMs: RETAIN_MS });
}

describeApprovalStoreContract('redis', async () => {
  // Two instances on one prefix are two replicas.
  const keyPrefix = `test:${randomUUID()}:`;
  const store = redisStore(redis.url, keyPrefix);
  const peer = redisStore(redis.url, keyPrefix);
  await store.start();
  await peer.start();
  return { store, peer };
});

describe('RedisApprovalStore layout and cleanup', () => {
  let raw: Redis;
  let store: RedisApprovalStore;
  let prefix: string;
  beforeAll(() => {
    raw = new Redis(redis.url);
  });
  afterAll(() => raw?.disconnect());
  afterEach(async () => {
    await store?.stop();
  });
  const started = async () => {
    prefix = `test:${randomUUID()}:`;
    store = redisStore(redis.url, prefix);
    await store.start();
  };

  it('keeps a record as a hash, null fields absent, its key and pointer living until droppableAt', async () => {
    await started();
    const r = approvalRecord({ arguments: [] });
    await store.park(r, NOW + 1_000);
    const key = `${prefix}a:${r.id_hash}`;
    expect(await raw.hgetall(key)).toStrictEqual({
      doc: expect.stringContaining('"arguments":[]'),
      binding: r.binding,
      state: 'pending',
      expires_at: String(r.expires_at),
    });
    expect(await raw.get(`${prefix}ab:${r.binding}`)).toBe(r.id_hash);
    const ttl = droppableAt(r, MAX_GRANT_MS, RETAIN_MS) - (NOW + 1_000);
    for (const k of [key, `${prefix}ab:${r.binding}`]) {
      expect(await raw.pttl(k)).toBeGreaterThan(ttl - 1_000);
      expect(await raw.pttl(k)).toBeLessThanOrEqual(ttl);
    }
    expect(await raw.zscore(`${prefix}ai`, r.id_hash)).toBe(String(r.created_at));
    expect(await raw.zscore(`${prefix}ad`, r.id_hash)).toBe(String(droppableAt(r, MAX_GRANT_MS, RETAIN_MS)));
  });

  it('drops the index entries of a record Redis expired, in list and in sweep', async () => {
    await started();
    const r = approvalRecord();
    await store.park(r, NOW);
    await raw.del(`${prefix}a:${r.id_hash}`, `${prefix}ab:${r.binding}`); // as its TTL would
    expect(await store.list({ limit: 10 }, NOW)).toStrictEqual([]);
    expect(await raw.zscore(`${prefix}ai`, r.id_hash)).toBeNull();
    expect(await store.sweep(NOW)).toBe(0);
    expect(await store.sweep(droppableAt(r, MAX_GRANT_MS, RETAIN_MS))).toBe(1);
    expect(await raw.exists(`${prefix}ad`, `${prefix}ai`)).toBe(0);
  });
});

describe('RedisApprovalStore fails closed', () => {
  const TIMEOUT_MS = 300;
  const stores: RedisApprovalStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.stop();
  });
  const open = (url: string, commandTimeoutMs = TIMEOUT_MS) => {
    const store = redisStore(url, `test:${randomUUID()}:`, commandTimeoutMs);
    stores.push(store);
    return store;
  };

  const r = approvalRecord();
  const everyCall = (store: ApprovalStore) => ({
    park: () => store.park(approvalRecord(), NOW),
    get: () => store.get(r.id_hash),
    byBinding: () => store.byBinding(r.binding),
    transition: () =>
      store.transition(r.id_hash, { from: ['pending'], to: 'denied', when: 'live', set: { decided_at: NOW } }, NOW),
    list: () => store.list({ limit: 10 }, NOW),
    sweep: () => store.sweep(NOW + 10 * RETAIN_MS),
  });
  async function expectAllUnavailable(store: ApprovalStore, how: string): Promise<void> {
    for (const [name, call] of Object.entries(everyCall(store))) {
      const error: { code?: string; message?: string } = await call().then(
        () => new Error(`${name} resolved`),
        (err: unknown) => err as { code?: string; message?: string },
      );
      expect({ name, code: error.code, message: error.message }).toStrictEqual({
        name,
        code: 'session_store_unavailable',
        message: `the approval store ${how}`,
      });
    }
  }
  async function waitFor(store: ApprovalStore, status: 'OK' | 'ERROR'): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (store.status() !== status) {
      if (Date.now() > deadline) throw new Error(`the store did not read ${status} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('rejects every call with session_store_unavailable when Redis hangs or stops, and reads ERROR', async () => {
    const own = await startRedisServer();
    try {
      const store = open(own.url);
      await store.start();
      expect(await store.park(r, NOW)).toStrictEqual({ record: r, created: true });
      expect(store.status()).toBe('OK');

      own.pause(); // a hung server: only the command timeout answers
      await expectAllUnavailable(store, 'did not answer in time');
      own.resume();
      await waitFor(store, 'OK');

      await own.stop();
      await waitFor(store, 'ERROR');
      await expectAllUnavailable(store, 'is not reachable');
      expect(store.status()).toBe('ERROR');
    } finally {
      await own.stop();
    }
  });

  it('refuses to start when Redis cannot be reached', async () => {
    const own = await startRedisServer();
    await own.stop();
    const store = open(`redis://:s3cret@127.0.0.1:${own.port}`);
    const error = await store.start().then(
      () => new Error('started'),
      (err: unknown) => err as Error,
    );
    expect(error).toMatchObject({ code: 'session_store_unavailable' });
    expect(error.message).not.toMatch(/s3cret/);
    expect(store.status()).toBe('ERROR');
  });

  it('answers session_store_unavailable after stop() rather than hanging', async () => {
    const store = open(redis.url);
    await store.start();
    await store.stop();
    await expectAllUnavailable(store, 'is not reachable');
    expect(store.status()).toBe('ERROR');
  });
});
