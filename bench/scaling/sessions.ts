// Part 2 of bench/scaling.ts: many live sessions, made fast. Records are inserted straight
// into a store (no createSession: no policy grant, no audit record per session), with ids
// derived from their index so that a decision can present any of them without the
// benchmark keeping a million ids on its own heap.
import { hash } from 'node:crypto';
import { hashSessionId } from '../../src/session/ids.ts';
import type { MemorySessionStore } from '../../src/session/memory-store.ts';
import type { SessionRecord, SessionStore } from '../../src/session/record.ts';

/** The id of session `i`: the shape `newSessionId('mcp-session')` gives (mws_ + 43 base64url characters). */
export function sessionId(i: number): string {
  return `mws_${hash('sha256', `mcp-warden-scaling-${i}`, 'base64url')}`;
}

/**
 * Session `i`, as `createSession` would have stored it for the bench principal: owner,
 * server, caller and scope of `like` (a session the real createSession made), a context
 * as a gateway would send, live for hours. Every record gets its own objects (owner,
 * scope, context), as records made one request at a time would.
 */
export function sessionRecord(i: number, like: SessionRecord, now: number): SessionRecord {
  return {
    id_hash: hashSessionId(sessionId(i)),
    kind: 'mcp-session',
    owner: { ...like.owner },
    created_by: like.created_by,
    server: like.server,
    parent: null,
    scope: [...like.scope],
    context: { ip: `203.0.113.${i % 256}`, user_agent: 'claude-desktop/1.2 (mcp-sdk 1.29)' },
    created_at: now,
    last_seen_at: now,
    idle_expires_at: now + 3_600_000,
    expires_at: now + 8 * 3_600_000,
    revoked_at: null,
    version: 1,
  };
}

/** Inserts sessions 0 … n−1 through the store's own `insert`. */
export async function fillMemory(
  store: MemorySessionStore,
  n: number,
  like: SessionRecord,
  now: number,
): Promise<void> {
  for (let i = 0; i < n; i++) await store.insert(sessionRecord(i, like, now));
  if (store.size !== n) throw new Error(`the memory store holds ${store.size} sessions, not ${n}`);
}

/**
 * Inserts sessions `from` … `to`−1 through the store's own `insert` (its Lua script: the
 * record, its TTL, its indexes), `inFlight` at a time: ioredis writes the commands back to
 * back on the one connection, a pipeline, so a fill costs what Redis and the client take
 * per insert rather than a round trip each. Stops after the batch that passes `deadline`
 * (a `performance.now()` time); answers how many it inserted.
 */
export async function fillStore(
  store: SessionStore,
  range: { from: number; to: number },
  like: SessionRecord,
  now: number,
  options: { inFlight?: number; deadline?: number } = {},
): Promise<number> {
  const inFlight = options.inFlight ?? 1_000;
  const deadline = options.deadline ?? Infinity;
  let start = range.from;
  while (start < range.to && performance.now() < deadline) {
    const inserts: Promise<void>[] = [];
    for (let i = start; i < Math.min(start + inFlight, range.to); i++)
      inserts.push(store.insert(sessionRecord(i, like, now)));
    await Promise.all(inserts);
    start += inserts.length;
  }
  return start - range.from;
}
