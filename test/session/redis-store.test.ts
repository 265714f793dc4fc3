import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/session/record.ts';
import { RedisSessionStore } from '../../src/session/redis-store.ts';
import { type RedisServer, startRedisServer } from '../helpers/redis.ts';
import { startTestService } from '../helpers/service.ts';
import { sessionRecord } from './store-contract.ts';

// What only the Redis store has: its layout, its cleanup, and failing closed.
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const RETAIN_MS = 60_000;

let server: RedisServer;
let raw: Redis;
const stores: RedisSessionStore[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url);
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.stop();
});
afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

/** A store under a fresh key prefix (a fresh, empty store), stopped after each test. */
function newStore(options: { url?: string; commandTimeoutMs?: number } = {}): {
  store: RedisSessionStore;
  prefix: string;
} {
  const prefix = `test:${randomUUID()}:`;
  const store = new RedisSessionStore({
    url: options.url ?? server.url,
    keyPrefix: prefix,
    commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
    retainMs: RETAIN_MS,
    sweepIntervalMs: 3_600_000,
  });
  stores.push(store);
  return { store, prefix };
}

async function started(): Promise<{ store: RedisSessionStore; prefix: string }> {
  const opened = newStore();
  await opened.store.start();
  return opened;
}

describe('RedisSessionStore layout', () => {
  it('keeps a record as a hash under <prefix>s:<idHash>, indexed by subject, client and server', async () => {
    const { store, prefix } = await started();
    const r = sessionRecord({ owner: { iss: 'i', sub: 'alice', client_id: 'c1', spiffe_id: null }, scope: [] });
    await store.insert(r);
    const fields = await raw.hgetall(`${prefix}s:${r.id_hash}`);
    expect(fields).toMatchObject({ scope: '[]', context: '{}', created_at: String(NOW), version: '1' });
    expect(fields.revoked_at).toBeUndefined();
    for (const index of ['i:all', 'i:sub:alice', 'i:client:c1', `i:server:${r.server}`]) {
      expect(await raw.zscore(`${prefix}${index}`, r.id_hash)).toBe(String(NOW));
    }
  });

  it('sets the cleanup TTL from the stored times: death plus retention, refreshed by touch', async () => {
    const { store, prefix } = await started();
    const r = sessionRecord();
    const key = `${prefix}s:${r.id_hash}`;
    await store.insert(r);
    // Idle death at NOW+1000, measured from the record's own clock (NOW).
    expect(await raw.pttl(key)).toBeGreaterThan(1_000 + RETAIN_MS - 1_000);
    expect(await raw.pttl(key)).toBeLessThanOrEqual(1_000 + RETAIN_MS);
    await raw.pexpire(key, 5_000);
    await store.touch(r.id_hash, NOW + 500);
    expect(await raw.pttl(key)).toBeGreaterThan(RETAIN_MS);
    await store.revoke(r.id_hash, NOW + 600);
    expect(await raw.pttl(key)).toBeLessThanOrEqual(RETAIN_MS);
  });

  it('sweep drops the index entries of records Redis has expired, and only those', async () => {
    const { store, prefix } = await started();
    const gone = sessionRecord();
    const kept = sessionRecord();
    await store.insert(gone);
    await store.insert(kept);
    await raw.del(`${prefix}s:${gone.id_hash}`); // what the TTL does
    expect(await store.sweep(NOW)).toBe(0);
    expect(await store.sweep(gone.expires_at + RETAIN_MS)).toBe(1);
    for (const index of ['i:all', 'i:sub:alice', `i:server:${gone.server}`]) {
      expect(await raw.zrange(`${prefix}${index}`, '0', '-1')).toStrictEqual([kept.id_hash]);
    }
    expect(await raw.zcard(`${prefix}gone`)).toBe(1);
    expect(await store.sweep(gone.expires_at + RETAIN_MS)).toBe(0);
  });

  it('keeps an owner index by sha256(iss, sub), scored by absolute expiry, swept like the others', async () => {
    const { store, prefix } = await started();
    const gone = sessionRecord();
    const kept = sessionRecord();
    await store.insert(gone);
    await store.insert(kept);
    const owner = `${prefix}i:owner:${createHash('sha256')
      .update(JSON.stringify([gone.owner.iss, gone.owner.sub]))
      .digest('hex')}`;
    expect(await raw.zscore(owner, gone.id_hash)).toBe(String(gone.expires_at));
    await raw.del(`${prefix}s:${gone.id_hash}`);
    expect(await store.sweep(gone.expires_at + RETAIN_MS)).toBe(1);
    expect(await raw.zrange(owner, '0', '-1')).toStrictEqual([kept.id_hash]);
  });

  it("with a limit, an insert drops the owner's dead members from the index, so it stays near the limit", async () => {
    const prefix = `test:${randomUUID()}:`;
    const store = new RedisSessionStore({
      url: server.url,
      keyPrefix: prefix,
      commandTimeoutMs: 2_000,
      retainMs: RETAIN_MS,
      sweepIntervalMs: 3_600_000,
      maxPerOwner: 3,
    });
    stores.push(store);
    await store.start();
    for (let i = 0; i < 3; i += 1) await store.insert(sessionRecord({ revoked_at: NOW }));
    await store.insert(sessionRecord({ created_at: NOW + 1, last_seen_at: NOW + 1 }));
    const owner = (await raw.keys(`${prefix}i:owner:*`))[0]!;
    expect(await raw.zcard(owner)).toBe(1);
  });

  it('countLive is one command over the gone set: absolute expiry ahead, revoked ones included', async () => {
    const { store } = await started();
    await store.insert(sessionRecord());
    await store.insert(sessionRecord({ revoked_at: NOW }));
    await store.insert(sessionRecord({ expires_at: NOW + 100, idle_expires_at: NOW + 100 }));
    expect(await store.countLive(NOW + 50)).toBe(3);
    expect(await store.countLive(NOW + 100)).toBe(2);
  });

  it('list and revokeWhere drop index members whose record is gone', async () => {
    const { store, prefix } = await started();
    const gone = sessionRecord();
    const kept = sessionRecord({ created_at: NOW + 1 });
    await store.insert(gone);
    await store.insert(kept);
    await raw.del(`${prefix}s:${gone.id_hash}`);
    expect(await store.list({ sub: 'alice' }, 10)).toStrictEqual([kept]);
    expect(await raw.zscore(`${prefix}i:sub:alice`, gone.id_hash)).toBeNull();
    const revoked = await store.revokeWhere({ server: kept.server }, NOW + 2);
    expect(revoked.map((r) => r.id_hash)).toStrictEqual([kept.id_hash]);
    expect(await raw.zscore(`${prefix}i:server:${kept.server}`, gone.id_hash)).toBeNull();
  });
});

describe('RedisSessionStore fails closed', () => {
  const TIMEOUT_MS = 300;

  /** Every method of the store, each called once. */
  const everyCall = (store: SessionStore, idHash: string): Record<string, () => Promise<unknown>> => ({
    insert: () => store.insert(sessionRecord()),
    get: () => store.get(idHash),
    touch: () => store.touch(idHash, NOW + 1),
    addScope: () => store.addScope(idHash, ['fs_write'], NOW + 1),
    revoke: () => store.revoke(idHash, NOW + 1),
    revokeWhere: () => store.revokeWhere({ sub: 'alice' }, NOW + 1),
    list: () => store.list({}, 10),
    sweep: () => store.sweep(NOW + 1),
  });

  /**
   * Every call rejects with `session_store_unavailable`, and says which way: a hung server
   * is answered by the command timeout, a dead or stopped one is refused at once (a call
   * queued for a reconnect would end in the timeout instead, so the message tells them
   * apart without measuring time).
   */
  async function expectAllUnavailable(
    store: SessionStore,
    idHash: string,
    how: 'did not answer in time' | 'is not reachable',
  ): Promise<void> {
    await Promise.all(
      Object.entries(everyCall(store, idHash)).map(async ([name, call]) => {
        const error: { code?: string; message?: string } = await call().then(
          () => new Error(`${name} resolved`),
          (err: unknown) => err as { code?: string; message?: string },
        );
        expect({ name, code: error.code, message: error.message }).toStrictEqual({
          name,
          code: 'session_store_unavailable',
          message: `the session store ${how}`,
        });
      }),
    );
  }

  async function waitUntilReady(store: RedisSessionStore): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (store.status() !== 'OK') {
      if (Date.now() > deadline) throw new Error('the store did not reconnect within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('rejects every call with session_store_unavailable when Redis hangs or dies, and recovers by itself', async () => {
    const own = await startRedisServer();
    try {
      const { store } = newStore({ url: own.url, commandTimeoutMs: TIMEOUT_MS });
      await store.start();
      const r = sessionRecord();
      await store.insert(r);
      expect(store.status()).toBe('OK');

      own.pause(); // a hung server: only the command timeout answers
      await expectAllUnavailable(store, r.id_hash, 'did not answer in time');
      own.resume();
      await waitUntilReady(store);

      await own.kill9(); // a dead server: refused at once, no queueing
      await waitUntilDown(store);
      await expectAllUnavailable(store, r.id_hash, 'is not reachable');
      expect(store.status()).toBe('ERROR');

      await own.restart(); // empty (nothing persisted), and without script cache
      await waitUntilReady(store);
      const again = sessionRecord();
      await store.insert(again);
      expect((await store.touch(again.id_hash, NOW + 500))!.last_seen_at).toBe(NOW + 500);
      expect(await store.get(again.id_hash)).toMatchObject({ id_hash: again.id_hash, version: 2 });
    } finally {
      await own.stop();
    }
  });

  it('refuses to start when Redis cannot be reached, with a message free of credentials', async () => {
    const own = await startRedisServer();
    await own.stop();
    const { store } = newStore({ url: `redis://:s3cret@127.0.0.1:${own.port}`, commandTimeoutMs: TIMEOUT_MS });
    const error = await store.start().then(
      () => new Error('started'),
      (err: unknown) => err as Error,
    );
    expect(error).toMatchObject({ code: 'session_store_unavailable' });
    expect(error.message).not.toMatch(/s3cret/);
    expect(store.status()).toBe('ERROR');
  });

  it('answers session_store_unavailable after stop() rather than hanging', async () => {
    const { store } = newStore({ commandTimeoutMs: TIMEOUT_MS });
    await store.start();
    await store.stop();
    await expectAllUnavailable(store, sessionRecord().id_hash, 'is not reachable');
  });
});

describe('the service on the Redis store', () => {
  it('keeps its sessions in Redis, and denies with session_store_unavailable while Redis is down', async () => {
    const own = await startRedisServer();
    const prefix = `svc:${randomUUID()}:`;
    const s = await startTestService(
      {},
      { session: { store: 'redis', redis: { url: own.url, key_prefix: prefix, command_timeout_ms: 300 } } },
    );
    try {
      const server = 'https://mcp.example.com/files';
      const token = await s.token();
      const created = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { token, server, tools: ['fs_read'] },
      });
      expect(created.statusCode).toBe(201);
      const { id, id_hash } = created.json() as { id: string; id_hash: string };
      const direct = new Redis(own.url);
      expect(await direct.hget(`${prefix}s:${id_hash}`, 'scope')).toBe('["fs_read"]');
      direct.disconnect();
      const mcp = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };
      const decide = async () =>
        (
          await s.app.inject({ method: 'POST', url: '/v1/decide', payload: { token, server, session: id, mcp } })
        ).json();
      expect(await decide()).toMatchObject({ allow: true });
      await own.kill9();
      expect(await decide()).toMatchObject({ allow: false, reasons: [{ code: 'session_store_unavailable' }] });
    } finally {
      await s.app.close();
      await own.stop();
    }
  });
});

async function waitUntilDown(store: RedisSessionStore): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (store.status() === 'OK' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}
