import { hash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalIdHash, newApprovalId } from '../../src/approval/ids.ts';
import {
  pendingRecord,
  applied,
  stateAt,
  type ApprovalActor,
  type ApprovalQuery,
  type ApprovalRecord,
  type ApprovalStore,
  type ApprovalTransition,
} from '../../src/approval/record.ts';

/**
 * Two started stores over the same, empty storage: `peer` stands for another replica (a
 * second connection); a single-process store passes itself. Both are built with
 * {@link MAX_GRANT_MS} and {@link RETAIN_MS}.
 */
export interface ApprovalStorePair {
  readonly store: ApprovalStore;
  readonly peer: ApprovalStore;
}

export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
/** The grant cap and the retention the stores under test are built with. */
export const MAX_GRANT_MS = 3_600_000;
export const RETAIN_MS = 3_600_000;
/** How long a request of {@link approvalRecord} waits for an approver. */
const REQUEST_MS = 60_000;

const sha256 = (text: string) => hash('sha256', text, 'hex');

/** A pending request parked at `NOW`, waiting a minute; a fresh id and binding unless overridden. */
export function approvalRecord(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  const id = newApprovalId();
  const record = pendingRecord({
    id,
    id_hash: approvalIdHash(id),
    binding: sha256(`binding ${id}`),
    owner: { iss: 'https://idp.test.example', sub: 'alice', client_id: null, spiffe_id: null },
    server: 'https://mcp.example.com/files',
    session: null,
    tool: 'fs_write',
    arguments_sha256: sha256('{"path":"/tmp/x"}'),
    arguments: { path: '/tmp/x' },
    client: null,
    obligation: { approvers: 'self' },
    decision_id: 'd-park',
    created_by: 'pep-1',
    created_at: NOW,
    expires_at: NOW + REQUEST_MS,
  });
  return { ...record, ...overrides };
}

const BOB: ApprovalActor = { iss: 'https://idp.test.example', sub: 'bob', client_id: 'page', caller: 'approvals-page' };
const ADMIN: ApprovalActor = { iss: null, sub: null, client_id: null, caller: 'admin-key' };

/** Bob grants at `at`, the grant waiting `ttl` for its use. */
function grant(at: number, ttl = 120_000, note: string | null = null): ApprovalTransition {
  return {
    from: ['pending'],
    to: 'granted',
    when: 'live',
    set: { decided_at: at, decided_by: BOB, note, grant_expires_at: at + ttl },
  };
}

function deny(at: number): ApprovalTransition {
  return { from: ['pending'], to: 'denied', when: 'live', set: { decided_at: at, decided_by: BOB, note: 'no' } };
}

function consume(at: number, by = 'd-use'): ApprovalTransition {
  return { from: ['granted'], to: 'consumed', when: 'live', set: { consumed_at: at, consumed_by: by } };
}

function revoke(at: number): ApprovalTransition {
  return { from: ['pending', 'granted'], to: 'revoked', when: 'live', set: { revoked_at: at, revoked_by: ADMIN } };
}

const EXPIRE: ApprovalTransition = { from: ['pending', 'granted'], to: 'expired', when: 'expired', set: {} };

/** The behaviour every `ApprovalStore` shares: the memory default and Redis run this same suite. */
export function describeApprovalStoreContract(name: string, makeStore: () => Promise<ApprovalStorePair>): void {
  describe(`ApprovalStore contract: ${name}`, () => {
    const opened: ApprovalStorePair[] = [];
    const open = async (): Promise<ApprovalStorePair> => {
      const pair = await makeStore();
      opened.push(pair);
      return pair;
    };
    afterEach(async () => {
      for (const { store, peer } of opened.splice(0)) {
        await store.stop();
        if (peer !== store) await peer.stop();
      }
    });

    /** Parks `record` at its creation and expects it created. */
    const parked = async (store: ApprovalStore, record: ApprovalRecord): Promise<ApprovalRecord> => {
      expect(await store.park(record, record.created_at)).toStrictEqual({ record, created: true });
      return record;
    };
    const all: ApprovalQuery = { limit: 1_000 };

    describe('park, get and byBinding', () => {
      it('stores a new record, created, and every replica finds it by id and by binding', async () => {
        const { store, peer } = await open();
        const r = approvalRecord();
        expect(await store.park(r, NOW)).toStrictEqual({ record: r, created: true });
        for (const s of [store, peer]) {
          expect(await s.get(r.id_hash)).toStrictEqual(r);
          expect(await s.byBinding(r.binding)).toStrictEqual(r);
          expect(await s.list(all, NOW)).toStrictEqual([r]);
        }
      });

      it('answers undefined for an unknown id or binding', async () => {
        const { store } = await open();
        const r = approvalRecord();
        expect(await store.get(r.id_hash)).toBeUndefined();
        expect(await store.byBinding(r.binding)).toBeUndefined();
        expect(await store.transition(r.id_hash, grant(NOW), NOW)).toBeUndefined();
        expect(await store.get(r.id_hash)).toBeUndefined();
        expect(await store.list(all, NOW)).toStrictEqual([]);
      });

      it('returns the pending record the binding names, created=false, and stores nothing new', async () => {
        const { store, peer } = await open();
        const r = await parked(store, approvalRecord());
        const retry = approvalRecord({ binding: r.binding, created_at: NOW + 1, expires_at: NOW + 1 + REQUEST_MS });
        expect(await peer.park(retry, NOW + REQUEST_MS - 1)).toStrictEqual({ record: r, created: false });
        expect(await store.get(retry.id_hash)).toBeUndefined();
        expect(await store.byBinding(r.binding)).toStrictEqual(r);
        expect(await store.list(all, NOW + 1)).toStrictEqual([r]);
      });

      it('returns the granted record the binding names while the grant waits, past the request expiry', async () => {
        const { store, peer } = await open();
        const r = await parked(store, approvalRecord());
        const granted = (await store.transition(r.id_hash, grant(NOW + 1, 2 * REQUEST_MS), NOW + 1))!;
        expect(granted.state).toBe('granted');
        const at = NOW + REQUEST_MS + 10; // the request's own expiry has passed, the grant's not
        const retry = approvalRecord({ binding: r.binding, created_at: at, expires_at: at + REQUEST_MS });
        expect(await peer.park(retry, at)).toStrictEqual({ record: granted, created: false });
        expect(await store.get(retry.id_hash)).toBeUndefined();
        expect(await store.byBinding(r.binding)).toStrictEqual(granted);
        expect(await store.list(all, at)).toStrictEqual([granted]);
      });

      const ended: { note: string; end: (s: ApprovalStore, r: ApprovalRecord) => Promise<unknown>; at: number }[] = [
        {
          note: 'consumed',
          end: async (s, r) => {
            await s.transition(r.id_hash, grant(NOW + 1), NOW + 1);
            return s.transition(r.id_hash, consume(NOW + 2), NOW + 2);
          },
          at: NOW + 3,
        },
        { note: 'denied', end: (s, r) => s.transition(r.id_hash, deny(NOW + 1), NOW + 1), at: NOW + 2 },
        {
          note: 'revoked while pending',
          end: (s, r) => s.transition(r.id_hash, revoke(NOW + 1), NOW + 1),
          at: NOW + 2,
        },
        {
          note: 'revoked while granted',
          end: async (s, r) => {
            await s.transition(r.id_hash, grant(NOW + 1), NOW + 1);
            return s.transition(r.id_hash, revoke(NOW + 2), NOW + 2);
          },
          at: NOW + 3,
        },
        { note: 'expired (stored pending, past its expiry)', end: async () => 'nothing', at: NOW + REQUEST_MS },
        {
          note: 'expired (stored granted, past the grant expiry)',
          end: (s, r) => s.transition(r.id_hash, grant(NOW + 1, 1_000), NOW + 1),
          at: NOW + 1_001,
        },
        {
          note: 'expired (recorded by the sweep)',
          end: (s, r) => s.transition(r.id_hash, EXPIRE, NOW + REQUEST_MS),
          at: NOW + REQUEST_MS + 1,
        },
      ];
      for (const { note, end, at } of ended) {
        it(`creates a new record for a binding whose record is ${note}, and the binding names it`, async () => {
          const { store, peer } = await open();
          const r = await parked(store, approvalRecord());
          expect(await end(store, r)).toBeDefined();
          const before = (await store.get(r.id_hash))!;
          const next = approvalRecord({ binding: r.binding, created_at: at, expires_at: at + REQUEST_MS });
          expect(await peer.park(next, at)).toStrictEqual({ record: next, created: true });
          expect(await store.byBinding(r.binding)).toStrictEqual(next);
          expect(await store.get(next.id_hash)).toStrictEqual(next);
          expect(await store.get(r.id_hash)).toStrictEqual(before);
          expect(await store.list(all, at)).toStrictEqual([next, before]);
          // The new one is live: parking the binding again returns it.
          const again = approvalRecord({ binding: r.binding, created_at: at + 1 });
          expect(await store.park(again, at + 1)).toStrictEqual({ record: next, created: false });
        });
      }

      it('refuses an id collision and keeps the first record', async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        const twin = { ...approvalRecord(), id: r.id, id_hash: r.id_hash };
        await expect(store.park(twin, NOW + 1)).rejects.toThrow(/collision/);
        expect(await store.get(r.id_hash)).toStrictEqual(r);
        expect(await store.byBinding(twin.binding)).toBeUndefined();
        expect(await store.list(all, NOW + 1)).toStrictEqual([r]);
      });
    });

    describe('transition', () => {
      it('grants a live pending request once: a second identical grant does not apply', async () => {
        const { store, peer } = await open();
        const r = await parked(store, approvalRecord());
        const step = grant(NOW + 5, 120_000, 'ok for today');
        const granted = await store.transition(r.id_hash, step, NOW + 5);
        expect(granted).toStrictEqual(applied(r, step));
        expect(granted).toMatchObject({ state: 'granted', decided_by: BOB, grant_expires_at: NOW + 120_005 });
        expect(await peer.get(r.id_hash)).toStrictEqual(granted);
        expect(await peer.transition(r.id_hash, step, NOW + 6)).toBeUndefined();
        expect(await store.get(r.id_hash)).toStrictEqual(granted);
        expect(await store.byBinding(r.binding)).toStrictEqual(granted);
      });

      it('walks pending → granted → consumed, each step returning the stored record', async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        const granted = await store.transition(r.id_hash, grant(NOW + 1), NOW + 1);
        const used = await store.transition(r.id_hash, consume(NOW + 2), NOW + 2);
        expect(used).toStrictEqual(applied(applied(r, grant(NOW + 1)), consume(NOW + 2)));
        expect(await store.get(r.id_hash)).toStrictEqual(used);
        expect(granted).not.toStrictEqual(used);
        expect(await store.transition(r.id_hash, consume(NOW + 3), NOW + 3)).toBeUndefined();
        expect(await store.transition(r.id_hash, revoke(NOW + 3), NOW + 3)).toBeUndefined();
      });

      it('clears a field the change sets to null, and leaves the others', async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        await store.transition(r.id_hash, grant(NOW + 1, 120_000, 'a note'), NOW + 1);
        const step: ApprovalTransition = { ...revoke(NOW + 2), set: { ...revoke(NOW + 2).set, note: null } };
        const revoked = await store.transition(r.id_hash, step, NOW + 2);
        expect(revoked).toMatchObject({ state: 'revoked', note: null, decided_by: BOB, revoked_by: ADMIN });
        expect(await store.get(r.id_hash)).toStrictEqual(revoked);
      });

      const wrong: { note: string; before: ApprovalTransition[]; step: ApprovalTransition }[] = [
        { note: 'consuming a pending request', before: [], step: consume(NOW + 2) },
        { note: 'granting a granted record', before: [grant(NOW + 1)], step: grant(NOW + 2) },
        { note: 'denying a granted record', before: [grant(NOW + 1)], step: deny(NOW + 2) },
        { note: 'revoking a denied record', before: [deny(NOW + 1)], step: revoke(NOW + 2) },
        { note: 'revoking a consumed record', before: [grant(NOW + 1), consume(NOW + 1)], step: revoke(NOW + 2) },
        { note: 'expiring a revoked record', before: [revoke(NOW + 1)], step: EXPIRE },
      ];
      for (const { note, before, step } of wrong) {
        it(`does not apply from the wrong state: ${note}`, async () => {
          const { store } = await open();
          const r = await parked(store, approvalRecord());
          for (const b of before) expect(await store.transition(r.id_hash, b, NOW + 1)).toBeDefined();
          const stored = await store.get(r.id_hash);
          const at = step === EXPIRE ? NOW + 10 * REQUEST_MS : NOW + 2;
          expect(await store.transition(r.id_hash, step, at)).toBeUndefined();
          expect(await store.get(r.id_hash)).toStrictEqual(stored);
        });
      }

      it("does not apply a 'live' transition to an expired pending request, from its expiry on", async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        expect(await store.transition(r.id_hash, grant(r.expires_at), r.expires_at)).toBeUndefined();
        expect(await store.transition(r.id_hash, deny(r.expires_at + 5), r.expires_at + 5)).toBeUndefined();
        expect(await store.transition(r.id_hash, revoke(r.expires_at), r.expires_at)).toBeUndefined();
        expect(await store.get(r.id_hash)).toStrictEqual(r);
        // One millisecond before, it is live.
        expect((await store.transition(r.id_hash, grant(r.expires_at - 1), r.expires_at - 1))?.state).toBe('granted');
      });

      it("does not apply an 'expired' transition to a live record", async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        expect(await store.transition(r.id_hash, EXPIRE, r.expires_at - 1)).toBeUndefined();
        const granted = (await store.transition(r.id_hash, grant(NOW + 1, 10 * REQUEST_MS), NOW + 1))!;
        // Past the request's expiry but not the grant's: live.
        expect(await store.transition(r.id_hash, EXPIRE, r.expires_at + 1)).toBeUndefined();
        expect(await store.get(r.id_hash)).toStrictEqual(granted);
      });

      it("applies an 'expired' transition to an expired pending request, once", async () => {
        const { store, peer } = await open();
        const r = await parked(store, approvalRecord());
        const expired = await store.transition(r.id_hash, EXPIRE, r.expires_at);
        expect(expired).toStrictEqual({ ...r, state: 'expired' });
        expect(await peer.get(r.id_hash)).toStrictEqual(expired);
        expect(await peer.transition(r.id_hash, EXPIRE, r.expires_at + 1)).toBeUndefined();
      });

      it("refuses the use of a grant past its expiry, and applies 'expired' to it then", async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        const granted = (await store.transition(r.id_hash, grant(NOW + 1, 1_000), NOW + 1))!;
        const end = granted.grant_expires_at!;
        expect(stateAt(granted, end - 1)).toBe('granted');
        expect(stateAt(granted, end)).toBe('expired');
        expect(stateAt((await store.get(r.id_hash))!, end)).toBe('expired');
        expect(await store.transition(r.id_hash, consume(end), end)).toBeUndefined();
        expect(await store.transition(r.id_hash, EXPIRE, end - 1)).toBeUndefined();
        expect(await store.transition(r.id_hash, EXPIRE, end)).toStrictEqual({ ...granted, state: 'expired' });
      });
    });

    describe('round trip', () => {
      const cases: { note: string; record: () => ApprovalRecord }[] = [
        {
          note: 'nested arguments, a client, a session and approvers by name',
          record: () =>
            approvalRecord({
              owner: {
                iss: 'https://idp.test.example',
                sub: 'spiffe://td/ns/a',
                client_id: 'c-1',
                spiffe_id: 'spiffe://td/ns/a',
              },
              session: sha256('session'),
              tool: 'ünï/tööl 🔧',
              arguments: {
                path: '/tmp/ü ✓ 🙂',
                nested: { list: [1, 'two', null, true, 1.5, -0.25], empty: {}, none: [] },
                empty: {},
                none: [],
                deep: [[[]], [{}], { a: { b: { c: [] } } }],
              },
              client: { name: 'Claude', version: '1.2', extra: { tags: [], meta: {} } },
              obligation: {
                approvers: { roles: ['approver'], subjects: [], groups: [] },
                grant_ttl_seconds: 300,
                request_ttl_seconds: 600,
                reason: 'Écriture « sensible »',
              },
            }),
        },
        {
          note: 'arguments {} and approvers with every list empty',
          record: () =>
            approvalRecord({ arguments: {}, obligation: { approvers: { roles: [], subjects: [], groups: [] } } }),
        },
        { note: 'arguments []', record: () => approvalRecord({ arguments: [], client: {} }) },
        { note: 'arguments null and a bare self obligation', record: () => approvalRecord({ arguments: null }) },
        { note: "arguments '' and a string", record: () => approvalRecord({ arguments: '', decision_id: '' }) },
        {
          note: 'every nullable field set, an empty note included',
          record: () =>
            approvalRecord({
              state: 'revoked',
              decided_at: NOW + 1,
              decided_by: BOB,
              note: '',
              grant_expires_at: NOW + 2_000,
              consumed_at: NOW + 2,
              consumed_by: 'd-ü',
              revoked_at: NOW + 3,
              revoked_by: ADMIN,
            }),
        },
        {
          note: 'a note with unicode and newlines',
          record: () =>
            approvalRecord({
              state: 'denied',
              decided_at: NOW + 1,
              decided_by: { iss: null, sub: 'x', client_id: null, caller: 'c' },
              note: 'non, merci\n— 🙅 "quoted" \\ back',
            }),
        },
      ];
      for (const { note, record } of cases) {
        it(`keeps every field exactly: ${note}`, async () => {
          const { store, peer } = await open();
          const r = await parked(store, record());
          for (const s of [store, peer]) {
            expect(await s.get(r.id_hash)).toStrictEqual(r);
            expect(await s.byBinding(r.binding)).toStrictEqual(r);
            expect(await s.list(all, NOW)).toStrictEqual([r]);
          }
        });
      }

      it('keeps every field exactly through transitions, and returns the same from park', async () => {
        const { store, peer } = await open();
        const r = await parked(store, cases[0]!.record());
        const granted = await store.transition(r.id_hash, grant(NOW + 1, 5_000, 'ok ✓'), NOW + 1);
        expect(granted).toStrictEqual(applied(r, grant(NOW + 1, 5_000, 'ok ✓')));
        expect(await peer.get(r.id_hash)).toStrictEqual(granted);
        expect(await peer.park(approvalRecord({ binding: r.binding }), NOW + 2)).toStrictEqual({
          record: granted,
          created: false,
        });
      });
    });

    describe('list', () => {
      const population = () => ({
        p1: approvalRecord({ server: 's1', created_at: NOW - 5 }),
        p2: approvalRecord({ server: 's2', created_at: NOW - 4, expires_at: NOW + 5 }),
        g1: approvalRecord({ server: 's1', created_at: NOW - 3 }),
        g2: approvalRecord({ server: 's2', created_at: NOW - 2 }),
        d1: approvalRecord({ server: 's1', created_at: NOW - 1 }),
        n1: approvalRecord({ server: 's2', created_at: NOW }),
      });
      type Name = keyof ReturnType<typeof population>;
      /** p: pending (p2 past its expiry at NOW + 10), g1 granted, g2 granted past its grant, d1 denied. */
      const parkAll = async (store: ApprovalStore) => {
        const r = population();
        for (const record of Object.values(r)) await parked(store, record);
        const after = { ...r } as Record<Name, ApprovalRecord>;
        after.g1 = (await store.transition(r.g1.id_hash, grant(NOW, 60_000), NOW))!;
        after.g2 = (await store.transition(r.g2.id_hash, grant(NOW, 5), NOW))!;
        after.d1 = (await store.transition(r.d1.id_hash, deny(NOW), NOW))!;
        return after;
      };
      const cases: { note: string; query: ApprovalQuery; want: Name[] }[] = [
        { note: 'everything, newest first', query: { limit: 100 }, want: ['n1', 'd1', 'g2', 'g1', 'p2', 'p1'] },
        { note: 'pending at now (an expired one is not)', query: { state: 'pending', limit: 100 }, want: ['n1', 'p1'] },
        {
          note: 'expired at now (stored pending or granted)',
          query: { state: 'expired', limit: 100 },
          want: ['g2', 'p2'],
        },
        { note: 'granted', query: { state: 'granted', limit: 100 }, want: ['g1'] },
        { note: 'denied', query: { state: 'denied', limit: 100 }, want: ['d1'] },
        { note: 'consumed (none)', query: { state: 'consumed', limit: 100 }, want: [] },
        { note: 'by server', query: { server: 's1', limit: 100 }, want: ['d1', 'g1', 'p1'] },
        { note: 'by state and server', query: { state: 'expired', server: 's2', limit: 100 }, want: ['g2', 'p2'] },
        { note: 'by an unknown server', query: { server: 's9', limit: 100 }, want: [] },
        { note: 'limited', query: { limit: 2 }, want: ['n1', 'd1'] },
        { note: 'limited after filtering', query: { server: 's2', limit: 2 }, want: ['n1', 'g2'] },
        { note: 'with a zero limit', query: { limit: 0 }, want: [] },
      ];
      for (const { note, query, want } of cases) {
        it(`lists ${note}`, async () => {
          const { store, peer } = await open();
          const records = await parkAll(store);
          expect(await peer.list(query, NOW + 10)).toStrictEqual(want.map((n) => records[n]));
        });
      }

      it('lists by the state at the given now', async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        expect(await store.list({ state: 'pending', limit: 10 }, r.expires_at - 1)).toStrictEqual([r]);
        expect(await store.list({ state: 'expired', limit: 10 }, r.expires_at - 1)).toStrictEqual([]);
        expect(await store.list({ state: 'pending', limit: 10 }, r.expires_at)).toStrictEqual([]);
        expect(await store.list({ state: 'expired', limit: 10 }, r.expires_at)).toStrictEqual([r]);
      });

      it('lists across many records, newest first, filtered and limited', async () => {
        const { store, peer } = await open();
        const records: ApprovalRecord[] = [];
        for (let i = 0; i < 450; i += 1) {
          records.push(await parked(store, approvalRecord({ server: i % 3 === 0 ? 's1' : 's2', created_at: NOW + i })));
        }
        const newest = records.toReversed();
        expect(await peer.list({ limit: 1_000 }, NOW)).toStrictEqual(newest);
        expect(await peer.list({ limit: 321 }, NOW)).toStrictEqual(newest.slice(0, 321));
        const s1 = newest.filter((r) => r.server === 's1');
        expect(await peer.list({ server: 's1', limit: 1_000 }, NOW)).toStrictEqual(s1);
        expect(await peer.list({ server: 's1', limit: 101 }, NOW)).toStrictEqual(s1.slice(0, 101));
      });
    });

    describe('sweep', () => {
      const dropAt = (r: ApprovalRecord) => Math.max(r.expires_at + MAX_GRANT_MS, r.grant_expires_at ?? 0) + RETAIN_MS;

      it('drops the records past droppableAt and keeps the others', async () => {
        const { store, peer } = await open();
        const early = await parked(store, approvalRecord({ server: 's1' }));
        const later = await parked(store, approvalRecord({ created_at: NOW + 1, expires_at: NOW + 10 * REQUEST_MS }));
        expect(await peer.sweep(dropAt(early) - 1)).toBe(0);
        expect(await store.get(early.id_hash)).toStrictEqual(early);
        expect(await peer.sweep(dropAt(early))).toBe(1);
        expect(await store.get(early.id_hash)).toBeUndefined();
        expect(await store.byBinding(early.binding)).toBeUndefined();
        expect(await store.get(later.id_hash)).toStrictEqual(later);
        expect(await store.byBinding(later.binding)).toStrictEqual(later);
        expect(await store.list(all, NOW)).toStrictEqual([later]);
        expect(await store.list({ server: 's1', limit: 10 }, NOW)).toStrictEqual([]);
        expect(await store.sweep(dropAt(early))).toBe(0);
        expect(await store.sweep(dropAt(later))).toBe(1);
        expect(await store.list(all, NOW)).toStrictEqual([]);
      });

      it('keeps a record whose grant outlives the request cap until the grant, plus the retention', async () => {
        const { store } = await open();
        const r = await parked(store, approvalRecord());
        const step = grant(NOW + 1, REQUEST_MS + MAX_GRANT_MS + 60_000);
        const granted = (await store.transition(r.id_hash, step, NOW + 1))!;
        expect(dropAt(granted)).toBeGreaterThan(dropAt(r));
        expect(await store.sweep(dropAt(r))).toBe(0);
        expect(await store.get(r.id_hash)).toStrictEqual(granted);
        expect(await store.sweep(dropAt(granted) - 1)).toBe(0);
        expect(await store.sweep(dropAt(granted))).toBe(1);
        expect(await store.get(r.id_hash)).toBeUndefined();
      });

      it('keeps the binding naming a newer record when it drops an older one of the same binding', async () => {
        const { store } = await open();
        const old = await parked(store, approvalRecord());
        await store.transition(old.id_hash, deny(NOW + 1), NOW + 1);
        const at = NOW + 2 * REQUEST_MS;
        const next = await parked(store, approvalRecord({ binding: old.binding, created_at: at, expires_at: at + 1 }));
        expect(dropAt(next)).toBeGreaterThan(dropAt(old));
        expect(await store.sweep(dropAt(old))).toBe(1);
        expect(await store.get(old.id_hash)).toBeUndefined();
        expect(await store.byBinding(old.binding)).toStrictEqual(next);
      });
    });

    describe('races between replicas', () => {
      const ROUNDS = 50;
      for (const racers of [2, 8]) {
        it(`applies exactly one of ${racers} racing uses of a grant, ${ROUNDS} times over`, async () => {
          const { store, peer } = await open();
          for (let round = 0; round < ROUNDS; round += 1) {
            const r = await parked(store, approvalRecord());
            expect(await store.transition(r.id_hash, grant(NOW + 1), NOW + 1)).toBeDefined();
            const results = await Promise.all(
              Array.from({ length: racers }, (_, i) =>
                (i % 2 ? peer : store).transition(r.id_hash, consume(NOW + 2, `d-${i}`), NOW + 2),
              ),
            );
            const winners = results.filter((x) => x !== undefined);
            expect(winners).toHaveLength(1);
            expect(winners[0]!.state).toBe('consumed');
            expect(await peer.get(r.id_hash)).toStrictEqual(winners[0]);
          }
        });
      }

      it(`creates exactly one record for two racing parks of a binding, ${ROUNDS} times over`, async () => {
        const { store, peer } = await open();
        for (let round = 0; round < ROUNDS; round += 1) {
          const a = approvalRecord();
          const b = approvalRecord({ binding: a.binding });
          const [ra, rb] = await Promise.all([store.park(a, NOW), peer.park(b, NOW)]);
          expect([ra!.created, rb!.created].filter(Boolean)).toHaveLength(1);
          expect(ra!.record.id).toBe(rb!.record.id);
          const winner = ra!.created ? a : b;
          expect(ra!.record).toStrictEqual(winner);
          expect(await store.byBinding(a.binding)).toStrictEqual(winner);
          expect(await peer.get((winner === a ? b : a).id_hash)).toBeUndefined();
        }
        expect(await store.list(all, NOW)).toHaveLength(ROUNDS);
      });
    });
  });
}
