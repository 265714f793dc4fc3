import { beforeEach, describe, expect, it } from 'vitest';
import { bindState } from '../../src/decision/bound-state.ts';
import { decide } from '../../src/decision/decide.ts';
import { sealForPrincipal } from '../../src/decision/request-state.ts';
import { createSession, revokeSessions, widenSession } from '../../src/decision/sessions.ts';
import type { Caller, DecideRequest } from '../../src/decision/types.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const ADMIN: Caller = { id: 'ops', role: 'admin' };
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);
const RESEARCHER = { sub: 'researcher', client_id: 'agent-app' };
const MAILER = { sub: 'mailer', client_id: 'agent-app' };

function call(token: string, session: string, tool = 'fs_read', extra: Partial<DecideRequest> = {}): DecideRequest {
  return {
    token,
    session,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a.txt' } } },
    ...extra,
  };
}

describe('state created through an actor chain is owned by (subject, chain)', () => {
  let t: TestCore;
  /** alice's token as the researcher agent holds it (RFC 8693 act). */
  let viaResearcher: string;
  let session: string;
  beforeEach(async () => {
    t = await createTestCore();
    viaResearcher = await t.idp.mint({ client_id: 'agent-app', act: RESEARCHER });
    session = (await createSession(t.deps, { token: viaResearcher, server: SERVER }, PEP)).id!;
  });

  it('records the chain as part of the owner, and lets the same chain use the session', async () => {
    const record = await t.sessions.get(hashSessionId(session));
    expect(record!.owner).toEqual({
      iss: t.idp.issuer.issuer,
      sub: 'alice',
      client_id: 'agent-app',
      spiffe_id: null,
      actor: [{ iss: t.idp.issuer.issuer, sub: 'researcher', client_id: 'agent-app', spiffe_id: null }],
    });
    // Another token of the same chain (a refreshed one) is the owner.
    const refreshed = await t.idp.mint({ client_id: 'agent-app', act: RESEARCHER, jti: 'second' });
    expect((await decide(t.deps, call(refreshed, session), PEP)).allow).toBe(true);
  });

  it('refuses alice herself, another agent for alice, and a longer chain, each audited as owner mismatch', async () => {
    const presenters = {
      alice: await t.idp.mint({ client_id: 'agent-app' }),
      mailer: await t.idp.mint({ client_id: 'agent-app', act: MAILER }),
      relayed: await t.idp.mint({ client_id: 'agent-app', act: { ...MAILER, act: RESEARCHER } }),
      'researcher of another issuer': await t.idp.mint({
        client_id: 'agent-app',
        act: { ...RESEARCHER, iss: 'https://elsewhere.example' },
      }),
    };
    for (const [who, token] of Object.entries(presenters)) {
      t.audit.saved.length = 0;
      expect(codes(await decide(t.deps, call(token, session), PEP)), who).toEqual(['session_owner_mismatch']);
      expect(
        t.audit.saved.map((r) => r.kind),
        who,
      ).toEqual(['session.owner_mismatch', 'decision']);
      expect(t.audit.saved[0]!.session).toBe(hashSessionId(session));
    }
    // The swap leaves the session the chain's: the researcher goes on.
    expect((await decide(t.deps, call(viaResearcher, session), PEP)).allow).toBe(true);
  });

  it('refuses a widening by alice herself: a widening is a fresh authorization of the owner', async () => {
    const alice = await t.idp.mint({ client_id: 'agent-app', roles: ['writer'] });
    await expect(widenSession(t.deps, { id: session, token: alice, add: ['fs_write'] }, PEP)).rejects.toMatchObject({
      code: 'session_owner_mismatch',
    });
  });

  it('binds tasks and sealed request state to the chain too', async () => {
    const alice = await t.idp.mint({ client_id: 'agent-app' });
    await bindState(t.deps, { token: viaResearcher, session, server: SERVER, kind: 'task', value: 't-1' }, PEP);
    const taskCall = (token: string) =>
      decide(t.deps, { token, session, server: SERVER, mcp: { method: 'tasks/get', params: { taskId: 't-1' } } }, PEP);
    expect((await taskCall(viaResearcher)).allow).toBe(true);
    const mailer = await t.idp.mint({ client_id: 'agent-app', act: MAILER });
    const mailerSession = (await createSession(t.deps, { token: mailer, server: SERVER }, PEP)).id!;
    expect(
      codes(
        await decide(
          t.deps,
          {
            token: mailer,
            session: mailerSession,
            server: SERVER,
            mcp: { method: 'tasks/get', params: { taskId: 't-1' } },
          },
          PEP,
        ),
      ),
    ).toEqual(['task_owner_mismatch']);
    const { request_state } = await sealForPrincipal(
      t.deps,
      { token: viaResearcher, server: SERVER, request_state: 'upstream-state' },
      PEP,
    );
    const retry = (token: string) =>
      decide(
        t.deps,
        {
          token,
          server: SERVER,
          mcp: {
            method: 'tools/call',
            params: { name: 'fs_read', arguments: { path: '/srv/data/a' }, requestState: request_state },
          },
        },
        PEP,
      );
    expect((await retry(viaResearcher)).request_state).toBe('upstream-state');
    expect(codes(await retry(alice))).toEqual(['request_state_owner_mismatch']);
  });

  it('names the chain in every audit record of the session, an admin revocation included', async () => {
    await decide(t.deps, call(viaResearcher, session), PEP);
    await decide(t.deps, call(viaResearcher, session, 'fs_delete'), PEP);
    await revokeSessions(t.deps, { sub: 'alice' }, ADMIN);
    const ofSession = t.audit.saved.filter((r) => r.session === hashSessionId(session));
    expect(ofSession.map((r) => r.kind)).toEqual(['session.created', 'decision', 'decision', 'session.revoked']);
    const chain = [{ iss: t.idp.issuer.issuer, sub: 'researcher', client_id: 'agent-app', spiffe_id: null }];
    for (const record of ofSession.slice(0, 3)) expect(record.principal?.actor, record.kind).toEqual(chain);
    expect(ofSession[3]!.detail).toMatchObject({ owner: { sub: 'alice', actor: chain } });
    // A principal acting itself is recorded as before: no actor member.
    await createSession(t.deps, { token: await t.idp.mint({ client_id: 'agent-app' }), server: SERVER }, PEP);
    expect(t.audit.saved.at(-1)!.principal).toEqual({ iss: t.idp.issuer.issuer, sub: 'alice', client_id: 'agent-app' });
  });
});
