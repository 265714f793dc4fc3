import { describe, expect, it } from 'vitest';
import { sessionConfigSchema } from '../../src/config/session.ts';
import { createSessionStore } from '../../src/session/create-store.ts';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import { RedisSessionStore } from '../../src/session/redis-store.ts';

describe('createSessionStore', () => {
  it('builds the memory store by default', () => {
    const config = sessionConfigSchema.parse({});
    expect(config.store).toBe('memory');
    expect(config.redis).toStrictEqual({ url: 'redis://127.0.0.1:6379', key_prefix: 'mcpw:', command_timeout_ms: 500 });
    expect(createSessionStore(config)).toBeInstanceOf(MemorySessionStore);
  });

  it('builds the Redis store by name, without connecting before start()', async () => {
    const store = createSessionStore(
      sessionConfigSchema.parse({ store: 'redis', redis: { url: 'redis://127.0.0.1:1' } }),
    );
    expect(store).toBeInstanceOf(RedisSessionStore);
    expect((store as RedisSessionStore).status()).toBe('ERROR');
    await store.stop();
  });

  it('rejects an unknown store, an unknown redis option and an out-of-range timeout', () => {
    for (const input of [{ store: 'postgres' }, { redis: { host: 'x' } }, { redis: { command_timeout_ms: 5 } }]) {
      expect(sessionConfigSchema.safeParse(input).success, JSON.stringify(input)).toBe(false);
    }
  });
});
