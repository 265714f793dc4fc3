import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import { createSession, revokeSession } from '../../src/decision/sessions.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine } from '../../src/policy/engine.ts';
import { hashSessionId } from '../../src/session/ids.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { fixtureBundle } from '../helpers/paths.ts';
import { SERVER } from '../helpers/tokens.ts';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

function toolCall(token: string, tool: string, extra: Partial<DecideRequest> = {}): DecideRequest {
  return {
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a.txt' } } },
    ...extra,
  };
}

describe('decide()', () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await createTestCore();
  });

  it('allows a permitted tool and records the decision', async () => {
    const decision = await decide(t.deps, toolCall(await t.idp.mint(), 'fs_read'), PEP);
    expect(decision).toMatchObject({ allow: true, reasons: [], visible_tools: null });
    expect(decision.policy.revision).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/);
    expect(t.audit.saved).toHaveLength(1);
    expect(t.audit.saved[0]).toMatchObject({
      kind: 'decision',
      decision_id: decision.decision_id,
      caller: 'pep-1',
      allow: true,
      tool: 'fs_read',
      principal: { sub: 'alice' },
      server: SERVER,
      method: 'tools/call',
    });
  });

  it('denies a forbidden tool with the policy reason codes', async () => {
    const decision = await decide(t.deps, toolCall(await t.idp.mint(), 'fs_delete'), PEP);
    expect(decision.allow).toBe(false);
    expect(codes(decision)).toEqual(['destructive_requires_role', 'tool_not_permitted']);
  });

  it('maps OAuth scopes to roles', async () => {
    const writer = await t.idp.mint({ roles: [], scope: 'openid mcp:write' });
    expect((await decide(t.deps, toolCall(writer, 'fs_write'), PEP)).allow).toBe(true);
  });

  it('enforces the path argument constraint', async () => {
    const token = await t.idp.mint();
    for (const path of ['/etc/passwd', '/srv/data/../../etc/passwd']) {
      const d = await decide(
        t.deps,
        toolCall(token, 'fs_read', { mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path } } } }),
        PEP,
      );
      expect(codes(d)).toEqual(['argument_not_allowed']);
    }
  });

  it('filters list results to what the principal may call', async () => {
    const d = await decide(
      t.deps,
      {
        token: await t.idp.mint(),
        server: SERVER,
        mcp: { method: 'tools/list', candidates: ['fs_read', 'fs_delete', 'unknown_tool', 'search_docs'] },
      },
      PEP,
    );
    expect(d.allow).toBe(true);
    expect(d.visible_tools).toEqual(['fs_read', 'search_docs']);
  });

  describe('deny by default', () => {
    it('with no policy loaded', async () => {
      t = await createTestCore({ engine: null });
      const d = await decide(t.deps, toolCall(await t.idp.mint(), 'fs_read'), PEP);
      expect(d).toMatchObject({ allow: false, policy: { revision: null } });
      expect(codes(d)).toEqual(['policy_unavailable']);
      expect(t.audit.saved[0]).toMatchObject({ allow: false });
    });

    for (const [fixture, code] of [
      ['undefined', 'policy_undefined'],
      ['missing-builtin', 'policy_builtin_missing'],
      ['bad-output', 'policy_error'],
    ] as const) {
      it(`with a broken bundle (${fixture}) → ${code}`, async () => {
        const engine = await loadPolicyEngine(await readBundleFile(fixtureBundle(fixture), 1 << 26));
        t = await createTestCore({ engine });
        const d = await decide(t.deps, toolCall(await t.idp.mint(), 'fs_read'), PEP);
        expect(d.allow).toBe(false);
        expect(codes(d)).toEqual([code]);
      });
    }

    it('when the audit sink refuses the record: audit_unavailable', async () => {
      t.audit.failing = true;
      const d = await decide(t.deps, toolCall(await t.idp.mint(), 'fs_read'), PEP);
      expect(d.allow).toBe(false);
      expect(codes(d)).toEqual(['audit_unavailable']);
    });
  });

  describe('with a session', () => {
    async function newSession(claims: Record<string, unknown> = {}, tools?: string[]) {
      const token = await t.idp.mint(claims);
      const view = await createSession(t.deps, { token, server: SERVER, tools }, PEP);
      return { token, id: view.id as string, view };
    }

    it('allows a tool in scope and moves the idle expiry forward', async () => {
      const { token, id } = await newSession();
      const before = await t.sessions.get(hashSessionId(id));
      t.clock.advance(60_000);
      const d = await decide(t.deps, toolCall(token, 'fs_read', { session: id }), PEP);
      expect(d.allow).toBe(true);
      const after = await t.sessions.get(hashSessionId(id));
      expect(after!.idle_expires_at - before!.idle_expires_at).toBe(60_000);
      expect(t.audit.saved.at(-1)).toMatchObject({ session: hashSessionId(id) });
    });

    it('refuses an unknown session, well-formed or not', async () => {
      const token = await t.idp.mint();
      for (const session of [`mws_${'A'.repeat(43)}`, 'made-up']) {
        expect(codes(await decide(t.deps, toolCall(token, 'fs_read', { session }), PEP))).toEqual(['session_unknown']);
      }
    });

    it('refuses a session replayed by another principal', async () => {
      const { id } = await newSession();
      const mallory = await t.idp.mint({}, { subject: 'mallory' });
      expect(codes(await decide(t.deps, toolCall(mallory, 'fs_read', { session: id }), PEP))).toEqual([
        'session_owner_mismatch',
      ]);
    });

    it('refuses a session replayed by another client of the same user', async () => {
      const { id } = await newSession({ client_id: 'app-a' });
      const other = await t.idp.mint({ client_id: 'app-b' });
      expect(codes(await decide(t.deps, toolCall(other, 'fs_read', { session: id }), PEP))).toEqual([
        'session_owner_mismatch',
      ]);
    });

    it('refuses a session used against another server', async () => {
      const { id } = await newSession();
      const token = await t.idp.mint({}, { audience: 'https://mcp.example.com/other' });
      const d = await decide(
        t.deps,
        toolCall(token, 'fs_read', { session: id, server: 'https://mcp.example.com/other' }),
        PEP,
      );
      expect(codes(d)).toEqual(['session_server_mismatch']);
    });

    it('refuses a tool outside the session scope even when the role permits it', async () => {
      const { token, id } = await newSession({ roles: ['writer'] }, ['fs_read']);
      const d = await decide(t.deps, toolCall(token, 'fs_write', { session: id }), PEP);
      expect(codes(d)).toEqual(['tool_not_in_session_scope']);
      // A decision never widens scope.
      expect((await t.sessions.get(hashSessionId(id)))!.scope).toEqual(['fs_read']);
    });

    it('refuses a revoked session', async () => {
      const { token, id } = await newSession();
      await revokeSession(t.deps, { id }, PEP);
      expect(codes(await decide(t.deps, toolCall(token, 'fs_read', { session: id }), PEP))).toEqual([
        'session_revoked',
      ]);
    });

    it('refuses an idle-expired session, and a denied use does not revive it', async () => {
      const { id, view } = await newSession();
      const idleMs = Date.parse(view.idle_expires_at) - Date.parse(view.created_at);
      t.clock.advance(idleMs);
      const fresh = await t.idp.mint();
      expect(codes(await decide(t.deps, toolCall(fresh, 'fs_read', { session: id }), PEP))).toEqual([
        'session_expired',
      ]);
      expect((await t.sessions.get(hashSessionId(id)))!.idle_expires_at).toBe(Date.parse(view.idle_expires_at));
    });

    it('refuses an absolutely expired session even when kept busy', async () => {
      const { id, view } = await newSession();
      const ttlMs = Date.parse(view.expires_at) - Date.parse(view.created_at);
      const step = 60_000;
      for (let elapsed = step; elapsed < ttlMs; elapsed += step) {
        t.clock.advance(step);
        const fresh = await t.idp.mint();
        expect((await decide(t.deps, toolCall(fresh, 'fs_read', { session: id }), PEP)).allow).toBe(true);
      }
      t.clock.advance(ttlMs % step || step);
      const fresh = await t.idp.mint();
      expect(codes(await decide(t.deps, toolCall(fresh, 'fs_read', { session: id }), PEP))).toEqual([
        'session_expired',
      ]);
    });
  });
});
