import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { decide } from '../../src/decision/decide.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { createSession, revokeSession } from '../../src/decision/sessions.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { SessionStoreUnavailable } from '../../src/errors.ts';
import { instrumentAuditSink } from '../../src/metrics/instrumented-audit.ts';
import { instrumentSessionStore } from '../../src/metrics/instrumented-sessions.ts';
import { ServiceMetrics } from '../../src/metrics/service-metrics.ts';
import { ActivePolicy } from '../../src/policy/active.ts';
import { PolicyReloader } from '../../src/policy/reloader.ts';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import { MemoryAuditSink } from '../helpers/audit.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { sample } from '../helpers/metrics.ts';
import { SERVER } from '../helpers/tokens.ts';

const call = (token: string | undefined, tool: string): DecideRequest => ({
  token,
  server: SERVER,
  mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a.txt' } } },
});

describe('ServiceMetrics', () => {
  let t: TestCore;
  let metrics: ServiceMetrics;
  let deps: CoreDeps;
  let sessions: MemorySessionStore;
  beforeEach(async () => {
    t = await createTestCore();
    metrics = new ServiceMetrics(t.clock.read);
    sessions = new MemorySessionStore({
      sweepIntervalMs: 60_000,
      retainMs: 3_600_000,
      maxPerOwner: 2,
      now: t.clock.read,
    });
    deps = {
      ...t.deps,
      sessions: instrumentSessionStore(sessions, metrics, 'memory'),
      audit: instrumentAuditSink(t.audit, metrics, 'file'),
      observe: metrics,
    };
    metrics.watch({ sessions: deps.sessions, policyRevision: () => deps.policy.revision });
  });
  const text = () => metrics.exposition();

  it('counts decisions by outcome and first reason, and times each one', async () => {
    const token = await t.idp.mint();
    await decide(deps, call(token, 'fs_read'), PEP);
    await decide(deps, call(token, 'fs_read'), PEP);
    await decide(deps, call(token, 'fs_delete'), PEP);
    await decide(deps, call(undefined, 'fs_read'), PEP);
    const out = await text();
    expect(sample(out, 'mcp_warden_decisions_total', { outcome: 'allow', reason: 'none' })).toBe(2);
    expect(sample(out, 'mcp_warden_decisions_total', { outcome: 'deny', reason: 'destructive_requires_role' })).toBe(1);
    expect(sample(out, 'mcp_warden_decisions_total', { outcome: 'deny', reason: 'token_missing' })).toBe(1);
    expect(sample(out, 'mcp_warden_decisions_total')).toBe(4);
    expect(sample(out, 'mcp_warden_decision_duration_seconds_count', { outcome: 'allow' })).toBe(2);
    expect(sample(out, 'mcp_warden_decision_duration_seconds_count', { outcome: 'deny' })).toBe(2);
    // The smallest bucket is 50 µs; a bucket per decade-ish up to 1 s.
    expect(out).toMatch(/mcp_warden_decision_duration_seconds_bucket\{le="0\.00005",outcome="allow"\}/);
    expect(out).toMatch(/mcp_warden_decision_duration_seconds_bucket\{le="1",outcome="allow"\}/);
  });

  it('maps a reason code it does not know to other', async () => {
    metrics.decision(
      {
        decision_id: 'd',
        allow: false,
        reasons: [{ code: 'tenant_blocked', message: '' }],
        obligations: {},
        visible_tools: null,
        policy: { revision: null },
      },
      0.001,
    );
    expect(sample(await text(), 'mcp_warden_decisions_total', { outcome: 'deny', reason: 'other' })).toBe(1);
  });

  it('counts audit records by kind and lag; a refused one: failure, store error, audit_unavailable deny', async () => {
    const token = await t.idp.mint();
    await decide(deps, call(token, 'fs_read'), PEP);
    await createSession(deps, { token, server: SERVER, tools: ['fs_read'] }, PEP);
    t.audit.failing = true;
    const denied = await decide(deps, call(token, 'fs_read'), PEP);
    expect(denied.reasons[0]?.code).toBe('audit_unavailable');
    const out = await text();
    expect(sample(out, 'mcp_warden_audit_records_total', { kind: 'decision' })).toBe(1);
    expect(sample(out, 'mcp_warden_audit_records_total', { kind: 'session.created' })).toBe(1);
    expect(sample(out, 'mcp_warden_audit_lag_seconds_count')).toBe(2);
    expect(sample(out, 'mcp_warden_audit_failures_total', { kind: 'decision' })).toBe(1);
    expect(sample(out, 'mcp_warden_store_errors_total', { store: 'file' })).toBe(1);
    expect(sample(out, 'mcp_warden_decisions_total', { outcome: 'deny', reason: 'audit_unavailable' })).toBe(1);
  });

  it('counts session store calls by operation and outcome, the per-principal refusal apart from errors', async () => {
    const token = await t.idp.mint();
    const a = await createSession(deps, { token, server: SERVER, tools: ['fs_read'] }, PEP);
    await createSession(deps, { token, server: SERVER, tools: ['fs_read'] }, PEP);
    await expect(createSession(deps, { token, server: SERVER, tools: ['fs_read'] }, PEP)).rejects.toMatchObject({
      code: 'session_limit_reached',
    });
    await revokeSession(deps, { id: a.id! }, PEP);
    const out = await text();
    expect(sample(out, 'mcp_warden_session_operations_total', { operation: 'insert', outcome: 'ok' })).toBe(2);
    expect(sample(out, 'mcp_warden_session_operations_total', { operation: 'insert', outcome: 'limit_reached' })).toBe(
      1,
    );
    expect(sample(out, 'mcp_warden_session_operations_total', { operation: 'revoke', outcome: 'ok' })).toBe(1);
    expect(sample(out, 'mcp_warden_store_errors_total')).toBeUndefined();
  });

  it('reads live sessions from the store on every scrape', async () => {
    expect(sample(await text(), 'mcp_warden_sessions_live')).toBe(0);
    const alice = await t.idp.mint();
    const bob = await t.idp.mint({}, { subject: 'bob' });
    const a = await createSession(deps, { token: alice, server: SERVER, tools: ['fs_read'] }, PEP);
    await createSession(deps, { token: bob, server: SERVER, tools: ['fs_read'] }, PEP);
    expect(sample(await text(), 'mcp_warden_sessions_live')).toBe(2);
    await revokeSession(deps, { id: a.id! }, PEP);
    expect(sample(await text(), 'mcp_warden_sessions_live')).toBe(1);
    t.clock.advance(8 * 3600 * 1000);
    expect(sample(await text(), 'mcp_warden_sessions_live')).toBe(0);
  });

  it('keeps the last live count and counts a store error when the store cannot answer, and still scrapes', async () => {
    const store = new MemorySessionStore({ sweepIntervalMs: 60_000, retainMs: 1000 });
    let down = false;
    const flaky = Object.assign(Object.create(store) as MemorySessionStore, {
      countLive: (now: number) => (down ? Promise.reject(new SessionStoreUnavailable('down')) : store.countLive(now)),
    });
    const own = new ServiceMetrics();
    own.watch({ sessions: instrumentSessionStore(flaky, own, 'redis') });
    await store.insert({ ...sessionOf(Date.now()) });
    expect(sample(await own.exposition(), 'mcp_warden_sessions_live')).toBe(1);
    down = true;
    expect(sample(await own.exposition(), 'mcp_warden_sessions_live')).toBe(1);
    // The failure met while scraping shows from the next scrape on.
    expect(sample(await own.exposition(), 'mcp_warden_store_errors_total', { store: 'redis' })).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('shows the active policy revision, and counts activations and rejected bundles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-metrics-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(DEFAULT_BUNDLE, path);
    const active = new ActivePolicy();
    const own = new ServiceMetrics();
    const reloader = new PolicyReloader({
      path,
      maxBytes: 64 << 20,
      active,
      audit: new MemoryAuditSink(),
      watch: false,
      debounceMs: 0,
      requireSignature: false,
      observe: (outcome) => own.policyActivation(outcome),
    });
    own.watch({ policyRevision: () => active.revision });
    expect(sample(await own.exposition(), 'mcp_warden_policy_info')).toBeUndefined();
    await reloader.start();
    writeFileSync(path, 'not a bundle');
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_invalid' });
    const out = await own.exposition();
    expect(sample(out, 'mcp_warden_policy_activations_total', { outcome: 'activated' })).toBe(1);
    expect(sample(out, 'mcp_warden_policy_activations_total', { outcome: 'rejected' })).toBe(1);
    expect(sample(out, 'mcp_warden_policy_info', { revision: active.revision! })).toBe(1);
    await reloader.stop();
  });

  it('counts the principals that became shared', async () => {
    const own = new ServiceMetrics();
    expect(sample(await own.exposition(), 'mcp_warden_shared_principals_total')).toBe(0);
    own.sharedPrincipal();
    own.sharedPrincipal();
    expect(sample(await own.exposition(), 'mcp_warden_shared_principals_total')).toBe(2);
  });

  it('keeps each instance apart, and adds the process metrics (RSS, event-loop lag) to the exposition', async () => {
    const other = new ServiceMetrics();
    await decide(deps, call(await t.idp.mint(), 'fs_read'), PEP);
    expect(sample(await text(), 'mcp_warden_decisions_total')).toBe(1);
    const out = await other.exposition();
    expect(sample(out, 'mcp_warden_decisions_total')).toBeUndefined();
    expect(sample(out, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(out).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(other.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

function sessionOf(now: number) {
  return {
    id_hash: 'a'.repeat(64),
    kind: 'mcp-session' as const,
    owner: { iss: 'i', sub: 's', client_id: null, spiffe_id: null },
    created_by: 'pep-1',
    server: SERVER,
    parent: null,
    scope: ['fs_read'],
    context: {},
    created_at: now,
    last_seen_at: now,
    idle_expires_at: now + 60_000,
    expires_at: now + 600_000,
    revoked_at: null,
    version: 1,
  };
}
