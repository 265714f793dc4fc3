import { afterEach, describe, expect, it } from 'vitest';
import { hashSessionId, newSessionId } from '../../src/session/ids.ts';
import type { SessionFilter, SessionRecord, SessionStore } from '../../src/session/record.ts';
import { revocationLookup, type NewPrincipalRevocation, type TokenFacts } from '../../src/session/revocation.ts';

/**
 * Two started stores over the same, empty storage: `peer` stands for another replica (a
 * second connection); a single-process store passes itself. Retention must be long (an
 * hour or more) and the background sweep must not run during a test.
 */
export interface StorePair {
  readonly store: SessionStore;
  readonly peer: SessionStore;
}

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A live record at `NOW` (idle 1 s, absolute 10 s), owned by alice. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id_hash: hashSessionId(newSessionId('mcp-session')),
    kind: 'mcp-session',
    owner: { iss: 'https://idp.test.example', sub: 'alice', client_id: null, spiffe_id: null },
    created_by: 'pep-1',
    server: 'https://mcp.example.com/files',
    parent: null,
    scope: ['fs_read'],
    context: {},
    created_at: NOW,
    last_seen_at: NOW,
    idle_expires_at: NOW + 1_000,
    expires_at: NOW + 10_000,
    revoked_at: null,
    version: 1,
    ...overrides,
  };
}

function owner(sub: string, client_id: string | null = null): SessionRecord['owner'] {
  return { iss: 'https://idp.test.example', sub, client_id, spiffe_id: null };
}

/** How a store under test is configured beyond its defaults. */
export interface StoreOptions {
  /** Live records one owner (iss, sub) may hold; absent for no limit. */
  readonly maxPerOwner?: number;
  /** How long a principal revocation is kept; the store's default (24 h) when absent. */
  readonly revocationRetainMs?: number;
}

const ISS = 'https://idp.test.example';
const DAY = 24 * 3600 * 1000;

/** A rule with every field empty but the given ones, revoked at `NOW`. */
function rule(
  overrides: Partial<NewPrincipalRevocation> & Pick<NewPrincipalRevocation, 'selector'>,
): NewPrincipalRevocation {
  return {
    iss: null,
    sub: null,
    client_id: null,
    token_sha256: null,
    jti: null,
    revoked_at: NOW,
    revoked_by: 'ops',
    note: null,
    ...overrides,
  };
}

/** What a request of alice (client c1, a token issued 1 s before `NOW`) says about its principal. */
function alice(overrides: Partial<TokenFacts> = {}): TokenFacts {
  return {
    iss: ISS,
    sub: 'alice',
    client_id: 'c1',
    token_sha256: 'a'.repeat(64),
    jti: 'j-1',
    issued_at: NOW - 1_000,
    ...overrides,
  };
}

/** The behaviour every `SessionStore` shares: the memory default and Redis run this same suite. */
export function describeSessionStoreContract(
  name: string,
  makeStore: (options?: StoreOptions) => Promise<StorePair>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    const opened: StorePair[] = [];
    const open = async (options?: StoreOptions): Promise<StorePair> => {
      const pair = await makeStore(options);
      opened.push(pair);
      return pair;
    };
    afterEach(async () => {
      for (const { store, peer } of opened.splice(0)) {
        await store.stop();
        if (peer !== store) await peer.stop();
      }
    });

    describe('insert and get', () => {
      it('round-trips every field, empty scope and context included', async () => {
        const { store } = await open();
        const rich = sessionRecord({
          kind: 'task',
          parent: hashSessionId(newSessionId('mcp-session')),
          owner: {
            iss: 'https://idp.test.example',
            sub: 'spiffe://td/ns/a',
            client_id: 'c-1',
            spiffe_id: 'spiffe://td/ns/a',
          },
          scope: ['a/b', 'fs_read', 'fs_write', 'ünï'],
          context: {
            ip: '10.0.0.1',
            nested: { list: [1, 'two', null], empty: {}, none: [] },
            empty: {},
            none: [],
            n: 1.5,
          },
          last_seen_at: NOW + 5,
          version: 7,
        });
        const bare = sessionRecord({ scope: [], context: {}, revoked_at: NOW + 3 });
        await store.insert(rich);
        await store.insert(bare);
        expect(await store.get(rich.id_hash)).toStrictEqual(rich);
        expect(await store.get(bare.id_hash)).toStrictEqual(bare);
      });

      it('refuses an id collision and keeps the first record', async () => {
        const { store } = await open();
        const first = sessionRecord();
        await store.insert(first);
        await expect(store.insert({ ...first, scope: ['other'] })).rejects.toThrow(/collision/);
        expect(await store.get(first.id_hash)).toStrictEqual(first);
      });

      it('answers undefined for an unknown hash, whatever the operation', async () => {
        const { store } = await open();
        const unknown = hashSessionId('mws_unknown');
        expect(await store.get(unknown)).toBeUndefined();
        expect(await store.touch(unknown, NOW)).toBeUndefined();
        expect(await store.addScope(unknown, ['x'], NOW)).toBeUndefined();
        expect(await store.revoke(unknown, NOW)).toBeUndefined();
        expect(await store.get(unknown)).toBeUndefined();
      });
    });

    describe('touch', () => {
      it('moves the idle window by the time elapsed', async () => {
        const { store } = await open();
        const r = sessionRecord();
        await store.insert(r);
        const touched = await store.touch(r.id_hash, NOW + 500);
        expect(touched).toStrictEqual({ ...r, last_seen_at: NOW + 500, idle_expires_at: NOW + 1_500, version: 2 });
        expect(await store.get(r.id_hash)).toStrictEqual(touched);
      });

      const dead: { note: string; record: Partial<SessionRecord>; at: number }[] = [
        { note: 'revoked', record: { revoked_at: NOW + 1 }, at: NOW + 2 },
        { note: 'idle-expired', record: {}, at: NOW + 1_000 },
        { note: 'absolutely expired', record: { idle_expires_at: NOW + 5_000, expires_at: NOW + 600 }, at: NOW + 600 },
      ];
      for (const { note, record, at } of dead) {
        it(`never resurrects a ${note} record`, async () => {
          const { store } = await open();
          const r = sessionRecord(record);
          await store.insert(r);
          expect(await store.touch(r.id_hash, at)).toStrictEqual(r);
          expect(await store.get(r.id_hash)).toStrictEqual(r);
        });
      }
    });

    describe('addScope', () => {
      it('unions and sorts', async () => {
        const { store } = await open();
        const r = sessionRecord({ scope: ['fs_read'] });
        await store.insert(r);
        const widened = await store.addScope(r.id_hash, ['zz_tool', 'fs_read', 'a_tool', 'zz_tool'], NOW + 1);
        expect(widened).toStrictEqual({ ...r, scope: ['a_tool', 'fs_read', 'zz_tool'], version: 2 });
        expect(await store.get(r.id_hash)).toStrictEqual(widened);
      });

      it('keeps an empty scope an empty list when nothing is added', async () => {
        const { store } = await open();
        const r = sessionRecord({ scope: [] });
        await store.insert(r);
        expect((await store.addScope(r.id_hash, [], NOW + 1))!.scope).toStrictEqual([]);
        expect((await store.get(r.id_hash))!.scope).toStrictEqual([]);
        expect((await store.addScope(r.id_hash, ['x'], NOW + 2))!.scope).toStrictEqual(['x']);
      });

      const dead: { note: string; record: Partial<SessionRecord>; at: number }[] = [
        { note: 'revoked', record: { revoked_at: NOW + 1 }, at: NOW + 2 },
        { note: 'idle-expired', record: {}, at: NOW + 1_000 },
        { note: 'absolutely expired', record: { idle_expires_at: NOW + 5_000, expires_at: NOW + 600 }, at: NOW + 700 },
      ];
      for (const { note, record, at } of dead) {
        it(`does nothing to a ${note} record`, async () => {
          const { store } = await open();
          const r = sessionRecord(record);
          await store.insert(r);
          expect(await store.addScope(r.id_hash, ['fs_write'], at)).toStrictEqual(r);
          expect(await store.get(r.id_hash)).toStrictEqual(r);
        });
      }
    });

    describe('revoke', () => {
      it('is idempotent and keeps the first time', async () => {
        const { store } = await open();
        const r = sessionRecord();
        await store.insert(r);
        const revoked = await store.revoke(r.id_hash, NOW + 5);
        expect(revoked).toStrictEqual({ ...r, revoked_at: NOW + 5, version: 2 });
        expect(await store.revoke(r.id_hash, NOW + 9)).toStrictEqual(revoked);
        expect(await store.get(r.id_hash)).toStrictEqual(revoked);
      });

      it('marks an expired record revoked too', async () => {
        const { store } = await open();
        const r = sessionRecord();
        await store.insert(r);
        expect((await store.revoke(r.id_hash, NOW + 2_000))!.revoked_at).toBe(NOW + 2_000);
      });
    });

    describe('revokeWhere and list', () => {
      // One population for every filter: which of these a filter may touch is the point.
      const population = () => ({
        a1: sessionRecord({ owner: owner('alice', 'c1'), server: 's1', created_at: NOW - 5 }),
        a2: sessionRecord({ owner: owner('alice', 'c2'), server: 's2', created_at: NOW - 4 }),
        a3: sessionRecord({ owner: owner('alice', 'c1'), server: 's1', created_at: NOW - 3, revoked_at: NOW - 1 }),
        a4: sessionRecord({ owner: owner('alice', 'c1'), server: 's1', created_at: NOW - 2, idle_expires_at: NOW }),
        b1: sessionRecord({ owner: owner('bob', 'c1'), server: 's1', created_at: NOW - 1 }),
        b2: sessionRecord({ owner: owner('bob'), server: 's2', created_at: NOW }),
      });
      type Name = keyof ReturnType<typeof population>;
      const insertAll = async (store: SessionStore) => {
        const records = population();
        for (const r of Object.values(records)) await store.insert(r);
        return records;
      };

      const revokeCases: { note: string; filter: SessionFilter; want: Name[] }[] = [
        { note: 'by subject', filter: { sub: 'alice' }, want: ['a1', 'a2'] },
        { note: 'by client', filter: { client_id: 'c1' }, want: ['a1', 'b1'] },
        { note: 'by server', filter: { server: 's2' }, want: ['a2', 'b2'] },
        { note: 'by subject and server', filter: { sub: 'alice', server: 's1' }, want: ['a1'] },
        { note: 'by client and server', filter: { client_id: 'c2', server: 's1' }, want: [] },
        { note: 'matching nothing', filter: { sub: 'carol' }, want: [] },
        { note: 'by issuer, subject and client', filter: { iss: ISS, sub: 'alice', client_id: 'c1' }, want: ['a1'] },
        { note: 'by another issuer', filter: { iss: 'https://other.example', sub: 'alice' }, want: [] },
      ];
      for (const { note, filter, want } of revokeCases) {
        it(`revokeWhere ${note} revokes only live matching records`, async () => {
          const { store } = await open();
          const records = await insertAll(store);
          const revoked = await store.revokeWhere(filter, NOW + 10);
          expect(revoked.map((r) => r.id_hash).sort()).toStrictEqual(want.map((n) => records[n].id_hash).sort());
          for (const r of revoked) expect(r).toMatchObject({ revoked_at: NOW + 10, version: 2 });
          for (const [n, r] of Object.entries(records)) {
            const expected = want.includes(n as Name) ? { ...r, revoked_at: NOW + 10, version: 2 } : r;
            expect(await store.get(r.id_hash)).toStrictEqual(expected);
          }
        });
      }

      const listCases: { note: string; filter: SessionFilter; limit: number; want: Name[] }[] = [
        { note: 'everything, oldest first', filter: {}, limit: 100, want: ['a1', 'a2', 'a3', 'a4', 'b1', 'b2'] },
        {
          note: 'by subject, dead ones included',
          filter: { sub: 'alice' },
          limit: 100,
          want: ['a1', 'a2', 'a3', 'a4'],
        },
        { note: 'by subject, limited', filter: { sub: 'alice' }, limit: 2, want: ['a1', 'a2'] },
        { note: 'by client', filter: { client_id: 'c1' }, limit: 100, want: ['a1', 'a3', 'a4', 'b1'] },
        { note: 'by server', filter: { server: 's2' }, limit: 100, want: ['a2', 'b2'] },
        { note: 'by every field', filter: { sub: 'bob', client_id: 'c1', server: 's1' }, limit: 100, want: ['b1'] },
        { note: 'with a zero limit', filter: {}, limit: 0, want: [] },
      ];
      for (const { note, filter, limit, want } of listCases) {
        it(`list ${note}`, async () => {
          const { store } = await open();
          const records = await insertAll(store);
          expect(await store.list(filter, limit)).toStrictEqual(want.map((n) => records[n]));
        });
      }
    });

    describe('every kind of bound state', () => {
      for (const kind of ['mcp-session', 'state-handle', 'task', 'upstream-handle'] as const) {
        it(`keeps, touches, revokes and lists a ${kind} record like any other`, async () => {
          const { store, peer } = await open();
          const bound = kind === 'task' || kind === 'upstream-handle';
          const parent = bound ? hashSessionId(newSessionId('mcp-session')) : null;
          const record = sessionRecord({ kind, parent, scope: bound ? [] : ['fs_read'] });
          await store.insert(record);
          expect(await peer.get(record.id_hash)).toStrictEqual(record);
          expect((await store.touch(record.id_hash, NOW + 1))?.last_seen_at).toBe(NOW + 1);
          const revoked = await store.revokeWhere({ sub: 'alice' }, NOW + 2);
          expect(revoked.map((r) => [r.kind, r.parent, r.revoked_at])).toStrictEqual([[kind, parent, NOW + 2]]);
          expect(await peer.list({ sub: 'alice' }, 10)).toStrictEqual([
            expect.objectContaining({ kind, parent, revoked_at: NOW + 2 }),
          ]);
        });
      }
    });

    describe('live sessions per owner (iss, sub)', () => {
      /** A record created at `at`, live for 1 s idle and 10 s absolute from then. */
      const createdAt = (at: number, overrides: Partial<SessionRecord> = {}) =>
        sessionRecord({
          created_at: at,
          last_seen_at: at,
          idle_expires_at: at + 1_000,
          expires_at: at + 10_000,
          ...overrides,
        });
      const codeOf = (promise: Promise<unknown>) =>
        promise.then(
          () => 'inserted',
          (err: { code?: string }) => err.code ?? String(err),
        );

      it('refuses one more than the limit with session_limit_reached, and stores nothing', async () => {
        const { store } = await open({ maxPerOwner: 3 });
        for (let i = 0; i < 3; i += 1) await store.insert(createdAt(NOW));
        const extra = createdAt(NOW);
        expect(await codeOf(store.insert(extra))).toBe('session_limit_reached');
        expect(await store.get(extra.id_hash)).toBeUndefined();
      });

      it('counts per issuer and subject: another subject or the same one of another issuer counts apart', async () => {
        const { store } = await open({ maxPerOwner: 1 });
        await store.insert(createdAt(NOW));
        await store.insert(createdAt(NOW, { owner: owner('bob') }));
        await store.insert(createdAt(NOW, { owner: { ...owner('alice'), iss: 'https://other-idp.test.example' } }));
        // Another client of the same principal counts against the same limit.
        expect(await codeOf(store.insert(createdAt(NOW, { owner: owner('alice', 'other-client') })))).toBe(
          'session_limit_reached',
        );
      });

      const dead: { note: string; record: Partial<SessionRecord> }[] = [
        { note: 'revoked', record: { revoked_at: NOW + 1 } },
        { note: 'idle-expired', record: {} },
        { note: 'absolutely expired', record: { idle_expires_at: NOW + 5_000, expires_at: NOW + 1_500 } },
      ];
      for (const { note, record } of dead) {
        it(`does not count a ${note} record`, async () => {
          const { store } = await open({ maxPerOwner: 2 });
          await store.insert(createdAt(NOW, record));
          await store.insert(createdAt(NOW + 800));
          // At NOW + 1.7 s the first is dead and the second live (until NOW + 1.8 s).
          expect(await codeOf(store.insert(createdAt(NOW + 1_700)))).toBe('inserted');
          expect(await codeOf(store.insert(createdAt(NOW + 1_700)))).toBe('session_limit_reached');
        });
      }

      it('frees a place when a session is revoked', async () => {
        const { store } = await open({ maxPerOwner: 1 });
        const first = createdAt(NOW);
        await store.insert(first);
        expect(await codeOf(store.insert(createdAt(NOW + 1)))).toBe('session_limit_reached');
        await store.revoke(first.id_hash, NOW + 2);
        expect(await codeOf(store.insert(createdAt(NOW + 3)))).toBe('inserted');
      });

      it('has no limit without one', async () => {
        const { store } = await open();
        for (let i = 0; i < 150; i += 1) await store.insert(createdAt(NOW));
        expect(await store.countLive(NOW)).toBe(150);
      });

      it('lets exactly the limit through when inserts race on two connections', async () => {
        const { store, peer } = await open({ maxPerOwner: 5 });
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, i) => codeOf((i % 2 ? store : peer).insert(createdAt(NOW)))),
        );
        expect(results.filter((r) => r === 'inserted')).toHaveLength(5);
        expect(results.filter((r) => r === 'session_limit_reached')).toHaveLength(19);
        expect(await store.countLive(NOW)).toBe(5);
      });
    });

    describe('countLive', () => {
      it('counts live records: no absolutely expired one, at most the revoked and idle-expired besides', async () => {
        const { store, peer } = await open();
        await store.insert(sessionRecord());
        await store.insert(sessionRecord({ owner: owner('bob') }));
        await store.insert(sessionRecord({ expires_at: NOW + 500, idle_expires_at: NOW + 500 }));
        await store.insert(sessionRecord({ revoked_at: NOW + 1 }));
        const now = await store.countLive(NOW);
        expect(now).toBeGreaterThanOrEqual(3);
        expect(now).toBeLessThanOrEqual(4);
        const later = await peer.countLive(NOW + 600);
        // Live: the first two; a shared store may count the revoked one until its absolute expiry.
        expect(later).toBeGreaterThanOrEqual(2);
        expect(later).toBeLessThanOrEqual(3);
        expect(await store.countLive(NOW + 10_000)).toBe(0);
      });
    });

    describe('concurrency', () => {
      it('revoke racing touches: a resolved revoke always sticks, an expired record never moves', async () => {
        const { store, peer } = await open();
        for (let round = 0; round < 200; round += 1) {
          const live = sessionRecord();
          const expired = sessionRecord({ idle_expires_at: NOW + 10 });
          await store.insert(live);
          await store.insert(expired);
          const touches = (id: string) =>
            Array.from({ length: 4 }, (_, i) => (i % 2 ? store : peer).touch(id, NOW + 20 + i));
          // Touches sent before and after the revoke, on both connections.
          const results = await Promise.all([
            ...touches(live.id_hash),
            store.revoke(live.id_hash, NOW + 21),
            ...touches(live.id_hash),
            ...touches(expired.id_hash),
            peer.revoke(expired.id_hash, NOW + 22),
            ...touches(expired.id_hash),
          ]);
          expect(results[4]!.revoked_at).toBe(NOW + 21);
          expect((await peer.get(live.id_hash))!.revoked_at).toBe(NOW + 21);
          expect(await store.get(expired.id_hash)).toStrictEqual({ ...expired, revoked_at: NOW + 22, version: 2 });
        }
      });

      it('many touches racing one revoke lose no update and never clear it', async () => {
        const { store, peer } = await open();
        for (let round = 0; round < 20; round += 1) {
          const r = sessionRecord();
          await store.insert(r);
          const touches = Array.from({ length: 30 }, (_, i) => (i % 2 ? store : peer).touch(r.id_hash, NOW + 100));
          const revoke = peer.revoke(r.id_hash, NOW + 100);
          const results = await Promise.all([...touches, revoke]);
          const final = (await store.get(r.id_hash))!;
          expect(final.revoked_at).toBe(NOW + 100);
          // Every touch that saw the record live counted, the revoke once: no lost update.
          const applied = results.slice(0, -1).filter((t) => t!.revoked_at === null).length;
          expect(final.version).toBe(1 + applied + 1);
        }
      });

      it('addScope racing revoke never leaves a live record once the revoke resolved', async () => {
        const { store, peer } = await open();
        for (let round = 0; round < 200; round += 1) {
          const r = sessionRecord();
          await store.insert(r);
          const [, revoked] = await Promise.all([
            peer.addScope(r.id_hash, ['fs_write'], NOW + 5),
            store.revoke(r.id_hash, NOW + 6),
            peer.addScope(r.id_hash, ['fs_admin'], NOW + 7),
            store.addScope(r.id_hash, ['fs_list'], NOW + 8),
          ]);
          expect(revoked!.revoked_at).toBe(NOW + 6);
          expect((await peer.get(r.id_hash))!.revoked_at).toBe(NOW + 6);
        }
      });

      it('concurrent addScope calls lose no tool', async () => {
        const { store, peer } = await open();
        const r = sessionRecord({ scope: ['fs_read'] });
        await store.insert(r);
        const tools = Array.from({ length: 100 }, (_, i) => `tool_${String(i).padStart(3, '0')}`);
        await Promise.all(
          tools.map((tool, i) => (i % 2 ? store : peer).addScope(r.id_hash, [tool, 'shared'], NOW + 1)),
        );
        const final = (await store.get(r.id_hash))!;
        expect(final.scope).toStrictEqual([...tools, 'fs_read', 'shared'].sort());
        expect(final.version).toBe(1 + tools.length);
      });
    });

    describe('principal revocations', () => {
      const covered: { note: string; rule: NewPrincipalRevocation; facts: TokenFacts; want: boolean }[] = [
        {
          note: 'a subject rule covers a token issued before it',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice' }),
          facts: alice(),
          want: true,
        },
        {
          note: 'a subject rule covers a token issued at its time',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice' }),
          facts: alice({ issued_at: NOW }),
          want: true,
        },
        {
          note: 'a subject rule passes a token issued after it',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice' }),
          facts: alice({ issued_at: NOW + 1_000 }),
          want: false,
        },
        {
          note: 'a subject rule covers a token without iat',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice' }),
          facts: alice({ issued_at: null }),
          want: true,
        },
        {
          note: 'a subject rule passes the same subject of another issuer',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice' }),
          facts: alice({ iss: 'https://other.example' }),
          want: false,
        },
        {
          note: 'a subject rule of any issuer covers every issuer',
          rule: rule({ selector: 'subject', sub: 'alice' }),
          facts: alice({ iss: 'https://other.example' }),
          want: true,
        },
        {
          note: 'a subject rule passes another subject',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice' }),
          facts: alice({ sub: 'bob' }),
          want: false,
        },
        {
          note: 'a subject rule through a client covers that client',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice', client_id: 'c1' }),
          facts: alice(),
          want: true,
        },
        {
          note: 'a subject rule through a client passes another client',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice', client_id: 'c1' }),
          facts: alice({ client_id: 'c2' }),
          want: false,
        },
        {
          note: 'a subject rule through a client passes a token without client',
          rule: rule({ selector: 'subject', iss: ISS, sub: 'alice', client_id: 'c1' }),
          facts: alice({ client_id: null }),
          want: false,
        },
        {
          note: 'a client rule covers every subject of the client',
          rule: rule({ selector: 'client', client_id: 'c1' }),
          facts: alice({ sub: 'bob' }),
          want: true,
        },
        {
          note: 'a client rule passes a token issued after it',
          rule: rule({ selector: 'client', client_id: 'c1' }),
          facts: alice({ issued_at: NOW + 1_000 }),
          want: false,
        },
        {
          note: 'a token rule covers the token, whenever issued',
          rule: rule({ selector: 'token', token_sha256: 'a'.repeat(64) }),
          facts: alice({ issued_at: NOW + 60_000 }),
          want: true,
        },
        {
          note: 'a token rule passes another token',
          rule: rule({ selector: 'token', token_sha256: 'a'.repeat(64) }),
          facts: alice({ token_sha256: 'b'.repeat(64) }),
          want: false,
        },
        {
          note: 'a jti rule covers the token, whenever issued',
          rule: rule({ selector: 'jti', iss: ISS, jti: 'j-1' }),
          facts: alice({ issued_at: NOW + 60_000 }),
          want: true,
        },
        {
          note: 'a jti rule passes the same jti of another issuer',
          rule: rule({ selector: 'jti', iss: ISS, jti: 'j-1' }),
          facts: alice({ iss: 'https://other.example' }),
          want: false,
        },
        {
          note: 'a jti rule passes a token without jti',
          rule: rule({ selector: 'jti', iss: ISS, jti: 'j-1' }),
          facts: alice({ jti: null }),
          want: false,
        },
      ];
      for (const { note, rule: given, facts, want } of covered) {
        it(note, async () => {
          const { store } = await open();
          const stored = await store.revokePrincipal(given);
          expect(stored).toStrictEqual({ ...given, expires_at: NOW + DAY });
          const found = await store.principalRevocation(revocationLookup(facts), NOW + 5_000);
          expect(found).toStrictEqual(want ? stored : undefined);
        });
      }

      it('answers undefined with no rules, and a rule another replica recorded', async () => {
        const { store, peer } = await open();
        expect(await store.principalRevocation(revocationLookup(alice()), NOW)).toBeUndefined();
        const stored = await peer.revokePrincipal(rule({ selector: 'client', client_id: 'c1' }));
        expect(await store.principalRevocation(revocationLookup(alice()), NOW + 1)).toStrictEqual(stored);
        expect(await store.listRevocations(NOW + 1, 10)).toStrictEqual([stored]);
      });

      it('a rule that does not cover the token does not hide one that does', async () => {
        const { store } = await open();
        await store.revokePrincipal(rule({ selector: 'subject', iss: ISS, sub: 'alice', revoked_at: NOW - 5_000 }));
        const token = await store.revokePrincipal(rule({ selector: 'token', token_sha256: 'a'.repeat(64) }));
        expect(await store.principalRevocation(revocationLookup(alice()), NOW + 1)).toStrictEqual(token);
      });

      it('lives for its retention, then answers nothing and is no longer listed', async () => {
        const { store } = await open({ revocationRetainMs: 60_000 });
        const stored = await store.revokePrincipal(rule({ selector: 'token', token_sha256: 'a'.repeat(64) }));
        expect(stored.expires_at).toBe(NOW + 60_000);
        const lookup = revocationLookup(alice());
        expect(await store.principalRevocation(lookup, NOW + 59_999)).toStrictEqual(stored);
        expect(await store.principalRevocation(lookup, NOW + 60_000)).toBeUndefined();
        expect(await store.listRevocations(NOW + 60_000, 10)).toStrictEqual([]);
        await store.sweep(NOW + 60_000);
        expect(await store.listRevocations(NOW, 10)).toStrictEqual([]);
      });

      it('keeps the later of two revocations of the same principal, whichever replica records last', async () => {
        const { store, peer } = await open();
        const later = await store.revokePrincipal(
          rule({ selector: 'subject', iss: ISS, sub: 'alice', revoked_at: NOW + 10, note: 'later' }),
        );
        expect(
          await peer.revokePrincipal(rule({ selector: 'subject', iss: ISS, sub: 'alice', revoked_at: NOW + 5 })),
        ).toStrictEqual(later);
        const latest = await peer.revokePrincipal(
          rule({ selector: 'subject', iss: ISS, sub: 'alice', revoked_at: NOW + 20 }),
        );
        expect(latest).toMatchObject({ revoked_at: NOW + 20, expires_at: NOW + 20 + DAY, note: null });
        expect(await store.listRevocations(NOW + 30, 10)).toStrictEqual([latest]);
        expect(
          await store.principalRevocation(revocationLookup(alice({ issued_at: NOW + 15 })), NOW + 30),
        ).toStrictEqual(latest);
      });

      it('lists the rules in force oldest first, at most the limit', async () => {
        const { store } = await open();
        const rules = [
          await store.revokePrincipal(rule({ selector: 'jti', iss: ISS, jti: 'j-2', revoked_at: NOW + 2 })),
          await store.revokePrincipal(rule({ selector: 'client', client_id: 'c9', revoked_at: NOW })),
          await store.revokePrincipal(rule({ selector: 'subject', sub: 'zed', revoked_at: NOW + 1 })),
        ];
        expect(await store.listRevocations(NOW + 3, 10)).toStrictEqual([rules[1], rules[2], rules[0]]);
        expect(await store.listRevocations(NOW + 3, 2)).toStrictEqual([rules[1], rules[2]]);
      });
    });
  });
}
