import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import { RedisSessionStore } from '../../src/session/redis-store.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';
import { describeSessionStoreContract } from './store-contract.ts';

const RETAIN_MS = 3_600_000;
// Long enough that the background sweep never runs during a test.
const SWEEP_MS = 3_600_000;

describeSessionStoreContract('memory', async (options = {}) => {
  const store = new MemorySessionStore({ sweepIntervalMs: SWEEP_MS, retainMs: RETAIN_MS, ...options });
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

describeSessionStoreContract('redis', async (options = {}) => {
  // A fresh prefix is a fresh, empty store; two instances on it are two replicas.
  const keyPrefix = `test:${randomUUID()}:`;
  const open = async () => {
    const store = new RedisSessionStore({
      url: redis.url,
      keyPrefix,
      commandTimeoutMs: 2_000,
      retainMs: RETAIN_MS,
      sweepIntervalMs: SWEEP_MS,
      ...options,
    });
    await store.start();
    return store;
  };
  return { store: await open(), peer: await open() };
});
