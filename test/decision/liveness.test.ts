import { beforeEach, describe, expect, it } from 'vitest';
import { checkLiveness } from '../../src/decision/liveness.ts';
import { hashToken } from '../../src/decision/principal-revocation.ts';
import { revokePrincipal } from '../../src/decision/revocations.ts';
import { createSession, revokeSession } from '../../src/decision/sessions.ts';
import type { LivenessItem } from '../../src/decision/types.ts';
import { SessionStoreUnavailable } from '../../src/errors.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const ADMIN = { id: 'ops', role: 'admin' } as const;
const codes = (results: readonly ({ code: string } | null)[]) => results.map((r) => r?.code ?? null);

describe('checkLiveness()', () => {
  let t: TestCore;
  let token: string;
  let session: string;
  beforeEach(async () => {
    t = await createTestCore();
    token = await t.idp.mint({}, { expiresIn: 3 * 3600 });
    session = (await createSession(t.deps, { token, server: SERVER }, PEP)).id!;
  });
  const check = (items: LivenessItem[]) => checkLiveness(t.deps, items, PEP);

  it('answers null for a live token, with or without its live session, and records nothing', async () => {
    const before = await t.sessions.get(hashSessionId(session));
    const audited = t.audit.saved.length;
    t.clock.advance(1_000);
    expect(
      await check([
        { token, server: SERVER },
        { token, session, server: SERVER },
      ]),
    ).toEqual([null, null]);
    expect(t.audit.saved).toHaveLength(audited);
    // A check is not a use: it never keeps a session alive.
    expect(await t.sessions.get(hashSessionId(session))).toStrictEqual(before);
  });

  it('answers each item its own reason, in order', async () => {
    const bob = await t.idp.mint({}, { subject: 'bob' });
    const results = await check([
      { server: SERVER },
      { token, session: 'mws_not-one-of-ours', server: SERVER },
      { token, session: `mws_${'A'.repeat(43)}`, server: SERVER },
      { token: bob, session, server: SERVER },
      { token, session, server: SERVER },
    ]);
    expect(codes(results)).toEqual([
      'token_missing',
      'session_unknown',
      'session_unknown',
      'session_owner_mismatch',
      null,
    ]);
    expect(results[0]).toMatchObject({ message: expect.any(String) });
  });

  it('token_expired once the token has expired', async () => {
    t.clock.advance(3 * 3600 * 1000);
    expect(codes(await check([{ token, session, server: SERVER }]))).toEqual(['token_expired']);
  });

  it('session_server_mismatch for a session of another server', async () => {
    const other = 'https://mcp.example.com/other';
    const forOther = await t.idp.mint({}, { audience: other });
    expect(codes(await check([{ token: forOther, session, server: other }]))).toEqual(['session_server_mismatch']);
  });

  it('principal_revoked once the principal is revoked, before its session is looked at', async () => {
    await revokePrincipal(t.deps, { token_sha256: hashToken(token) }, ADMIN);
    expect(
      codes(
        await check([
          { token, server: SERVER },
          { token, session, server: SERVER },
        ]),
      ),
    ).toEqual(['principal_revoked', 'principal_revoked']);
  });

  it('session_revoked once the session is revoked (the principal goes on)', async () => {
    await revokeSession(t.deps, { id: session, token }, PEP);
    expect(
      codes(
        await check([
          { token, session, server: SERVER },
          { token, server: SERVER },
        ]),
      ),
    ).toEqual(['session_revoked', null]);
  });

  it('session_expired once the session is idle past its window', async () => {
    t.clock.advance(3600 * 1000);
    expect(codes(await check([{ token, session, server: SERVER }]))).toEqual(['session_expired']);
  });

  it('session_store_unavailable for the items the store cannot answer, never a throw', async () => {
    t.sessions.get = async () => {
      throw new SessionStoreUnavailable('the session store is not reachable');
    };
    expect(
      codes(
        await check([
          { token, session, server: SERVER },
          { token, server: SERVER },
        ]),
      ),
    ).toEqual(['session_store_unavailable', null]);
    t.sessions.principalRevocation = async () => {
      throw new SessionStoreUnavailable('the session store is not reachable');
    };
    expect(codes(await check([{ token, server: SERVER }]))).toEqual(['session_store_unavailable']);
  });

  it('an empty batch is an empty answer', async () => {
    expect(await check([])).toEqual([]);
  });
});
