import { describe, expect, it } from 'vitest';
import { hashSessionId, isWellFormedSessionId, newSessionId } from '../../src/session/ids.ts';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import type { SessionRecord } from '../../src/session/record.ts';

function record(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id_hash: hashSessionId(newSessionId('mcp-session')),
    kind: 'mcp-session',
    owner: { iss: 'i', sub: 'alice', client_id: null, spiffe_id: null },
    created_by: 'pep-1',
    server: 's',
    scope: ['fs_read'],
    context: {},
    created_at: now,
    last_seen_at: now,
    idle_expires_at: now + 1_000,
    expires_at: now + 10_000,
    revoked_at: null,
    version: 1,
    ...overrides,
  };
}

describe('session ids', () => {
  it('carry 256 random bits, base64url, with a prefix by kind; only the hash is a key', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newSessionId('mcp-session')));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(isWellFormedSessionId(id)).toBe(true);
      expect(Buffer.from(id.slice(4), 'base64url')).toHaveLength(32);
    }
    expect(newSessionId('state-handle')).toMatch(/^mwh_/);
    expect(hashSessionId('mws_x')).toMatch(/^[0-9a-f]{64}$/);
    expect(isWellFormedSessionId('mws_short')).toBe(false);
  });
});

describe('MemorySessionStore', () => {
  const now = 1_000_000;

  it('touch moves the idle window by the time elapsed', async () => {
    const store = new MemorySessionStore({ sweepIntervalMs: 1000, retainMs: 0 });
    const r = record(now);
    await store.insert(r);
    const touched = await store.touch(r.id_hash, now + 500);
    expect(touched).toMatchObject({ last_seen_at: now + 500, idle_expires_at: now + 1_500, version: 2 });
  });

  it('touch never resurrects a revoked or expired record', async () => {
    const store = new MemorySessionStore({ sweepIntervalMs: 1000, retainMs: 0 });
    const revoked = record(now);
    const idle = record(now);
    await store.insert(revoked);
    await store.insert(idle);
    await store.revoke(revoked.id_hash, now + 1);
    expect((await store.touch(revoked.id_hash, now + 2))!.revoked_at).toBe(now + 1);
    expect((await store.touch(idle.id_hash, now + 1_000))!.idle_expires_at).toBe(now + 1_000);
  });

  it('revoke is idempotent and keeps the first time', async () => {
    const store = new MemorySessionStore({ sweepIntervalMs: 1000, retainMs: 0 });
    const r = record(now);
    await store.insert(r);
    await store.revoke(r.id_hash, now + 5);
    expect((await store.revoke(r.id_hash, now + 9))!.revoked_at).toBe(now + 5);
    expect(await store.revoke('unknown', now)).toBeUndefined();
  });

  it('refuses an id collision', async () => {
    const store = new MemorySessionStore({ sweepIntervalMs: 1000, retainMs: 0 });
    const r = record(now);
    await store.insert(r);
    await expect(store.insert(r)).rejects.toThrow(/collision/);
  });

  it('sweeps dead records only after the retention', async () => {
    const store = new MemorySessionStore({ sweepIntervalMs: 1000, retainMs: 5_000 });
    const live = record(now, { idle_expires_at: now + 100_000, expires_at: now + 100_000 });
    const dead = record(now);
    await store.insert(live);
    await store.insert(dead);
    expect(await store.sweep(now + 2_000)).toBe(0);
    expect(await store.sweep(now + 6_000)).toBe(1);
    expect(await store.get(dead.id_hash)).toBeUndefined();
    expect(await store.get(live.id_hash)).toBeDefined();
  });
});
