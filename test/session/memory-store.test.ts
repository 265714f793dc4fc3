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
    parent: null,
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

// The behaviour every store shares is in store-contract.ts; here only what is the memory store's own.
describe('MemorySessionStore', () => {
  const now = 1_000_000;

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
