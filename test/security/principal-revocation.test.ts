import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { checkLiveness } from '../../src/decision/liveness.ts';
import { hashToken } from '../../src/decision/principal-revocation.ts';
import { revokePrincipal } from '../../src/decision/revocations.ts';
import { createSession, revokeSession } from '../../src/decision/sessions.ts';
import type { Caller, DecideRequest } from '../../src/decision/types.ts';
import { RedisSessionStore } from '../../src/session/redis-store.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';
import { ISSUER, SERVER } from '../helpers/tokens.ts';

const ADMIN: Caller = { id: 'ops', role: 'admin' };
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

const call = (token: string, protocolVersion: string, session?: string): DecideRequest => ({
  token,
  server: SERVER,
  ...(session === undefined ? {} : { session }),
  mcp: {
    method: 'tools/call',
    params: { name: 'fs_read', arguments: { path: '/srv/data/a' } },
    protocol_version: protocolVersion,
  },
});

describe('a revoked legacy session does not let its token go on statelessly', () => {
  it('an admin revokes the session: the same token in a 2026-07-28 request is denied principal_revoked', async () => {
    const t = await createTestCore();
    const token = await t.idp.mint({ client_id: 'desktop' });
    const id = (await createSession(t.deps, { token, server: SERVER }, PEP)).id!;
    expect((await decide(t.deps, call(token, '2025-11-25', id), PEP)).allow).toBe(true);
    await revokeSession(t.deps, { id }, ADMIN);
    expect(codes(await decide(t.deps, call(token, '2025-11-25', id), PEP))).toEqual(['principal_revoked']);
    expect(codes(await decide(t.deps, call(token, '2026-07-28'), PEP))).toEqual(['principal_revoked']);
    // Nor can it mint itself a new session or handle to go on with.
    await expect(createSession(t.deps, { token, server: SERVER, kind: 'state-handle' }, PEP)).rejects.toMatchObject({
      code: 'principal_revoked',
    });
  });
});

describe('principal revocation across replicas on one Redis', () => {
  let redis: RedisServer;
  let t: TestCore;
  let replicas: { a: CoreDeps; b: CoreDeps };
  const stores: RedisSessionStore[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.stop();
  });

  /** Two cores over two connections to the same keys: two replicas of one service. */
  const openReplicas = async () => {
    t = await createTestCore();
    const keyPrefix = `test:${randomUUID()}:`;
    const open = async () => {
      const store = new RedisSessionStore({
        url: redis.url,
        keyPrefix,
        commandTimeoutMs: 300,
        retainMs: 3_600_000,
        sweepIntervalMs: 3_600_000,
        now: t.clock.read,
      });
      await store.start();
      stores.push(store);
      return store;
    };
    replicas = { a: { ...t.deps, sessions: await open() }, b: { ...t.deps, sessions: await open() } };
  };

  it('a revocation recorded on A is seen by B at its next decision, liveness check and session creation', async () => {
    await openReplicas();
    const token = await t.idp.mint({ client_id: 'desktop', jti: 'jti-7' });
    const id = (await createSession(replicas.b, { token, server: SERVER }, PEP)).id!;
    expect((await decide(replicas.b, call(token, '2026-07-28'), PEP)).allow).toBe(true);
    await revokePrincipal(replicas.a, { jti: 'jti-7', issuer: ISSUER }, ADMIN);
    expect(codes(await decide(replicas.b, call(token, '2026-07-28'), PEP))).toEqual(['principal_revoked']);
    expect(codes(await decide(replicas.b, call(token, '2025-11-25', id), PEP))).toEqual(['principal_revoked']);
    expect((await checkLiveness(replicas.b, [{ token, session: id, server: SERVER }], PEP))[0]?.code).toBe(
      'principal_revoked',
    );
    await expect(createSession(replicas.b, { token, server: SERVER }, PEP)).rejects.toMatchObject({
      code: 'principal_revoked',
    });
    expect(await replicas.b.sessions.listRevocations(t.clock.now, 10)).toEqual([
      expect.objectContaining({ selector: 'jti', jti: 'jti-7' }),
    ]);
  });

  it('a subject revoked on A loses its sessions on B; its next token passes on both', async () => {
    await openReplicas();
    const token = await t.idp.mint();
    const id = (await createSession(replicas.b, { token, server: SERVER }, PEP)).id!;
    expect((await revokePrincipal(replicas.a, { subject: 'alice', issuer: ISSUER }, ADMIN)).revoked).toBe(1);
    expect(
      (await replicas.b.sessions.get((await replicas.b.sessions.list({ sub: 'alice' }, 1))[0]!.id_hash))?.revoked_at,
    ).toBe(t.clock.now);
    expect(codes(await decide(replicas.b, call(token, '2025-11-25', id), PEP))).toEqual(['principal_revoked']);
    t.clock.advance(1_000);
    const fresh = await t.idp.mint();
    for (const replica of [replicas.a, replicas.b])
      expect((await decide(replica, call(fresh, '2026-07-28'), PEP)).allow).toBe(true);
    await revokePrincipal(replicas.b, { token_sha256: hashToken(fresh) }, ADMIN);
    expect(codes(await decide(replicas.a, call(fresh, '2026-07-28'), PEP))).toEqual(['principal_revoked']);
  });

  it('with Redis paused even a stateless request is denied session_store_unavailable (fail closed)', async () => {
    await openReplicas();
    const token = await t.idp.mint();
    expect((await decide(replicas.a, call(token, '2026-07-28'), PEP)).allow).toBe(true);
    redis.pause();
    try {
      expect(codes(await decide(replicas.a, call(token, '2026-07-28'), PEP))).toEqual(['session_store_unavailable']);
      expect((await checkLiveness(replicas.a, [{ token, server: SERVER }], PEP))[0]?.code).toBe(
        'session_store_unavailable',
      );
    } finally {
      redis.resume();
    }
  });
});
