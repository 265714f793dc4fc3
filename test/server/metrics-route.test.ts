import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sample } from '../helpers/metrics.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const PEP_KEY = 'mwk_pep-key-for-metrics-tests-0123456789';
const ADMIN_KEY = 'mwk_admin-key-for-metrics-tests-0123456789';
const SCRAPE_KEY = 'mwk_scrape-key-for-metrics-tests-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const call = (token: string, tool: string) => ({
  token,
  server: SERVER,
  mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a' } } },
});

describe('GET /metrics', () => {
  let s: TestService;
  afterEach(async () => {
    await s.app.close();
  });

  it('is open without API keys (loopback only), as Prometheus text, and moves with known decisions', async () => {
    s = await startTestService();
    const token = await s.token();
    const before = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(before, 'mcp_warden_decisions_total')).toBeUndefined();
    expect(sample(before, 'mcp_warden_policy_activations_total', { outcome: 'activated' })).toBe(1);
    for (const tool of ['fs_read', 'fs_read', 'fs_delete'])
      await s.app.inject({ method: 'POST', url: '/v1/decide', payload: call(token, tool) });
    await s.app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: SERVER, tools: ['fs_read'] } });
    const res = await s.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const out = res.body;
    expect(sample(out, 'mcp_warden_decisions_total', { outcome: 'allow', reason: 'none' })).toBe(2);
    expect(sample(out, 'mcp_warden_decisions_total', { outcome: 'deny', reason: 'destructive_requires_role' })).toBe(1);
    expect(sample(out, 'mcp_warden_decision_duration_seconds_count')).toBe(3);
    expect(sample(out, 'mcp_warden_sessions_live')).toBe(1);
    expect(sample(out, 'mcp_warden_session_operations_total', { operation: 'insert', outcome: 'ok' })).toBe(1);
    // 3 decisions and 1 session.created, each written to the file with its lag.
    expect(sample(out, 'mcp_warden_audit_records_total')).toBe(4);
    expect(sample(out, 'mcp_warden_audit_lag_seconds_count')).toBe(4);
    expect(sample(out, 'mcp_warden_audit_failures_total')).toBeUndefined();
    expect(out).toMatch(/^mcp_warden_policy_info\{revision="\d{8}T\d{6}Z-[0-9a-f]{12}"\} 1$/m);
    expect(sample(out, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  describe('with API keys', () => {
    const keys = {
      callers: {
        api_keys: [
          { id: 'gateway-1', sha256: sha(PEP_KEY), role: 'pep' },
          { id: 'ops', sha256: sha(ADMIN_KEY), role: 'admin' },
          { id: 'prometheus', sha256: sha(SCRAPE_KEY), role: 'metrics' },
        ],
      },
    };
    const cases: [string, Record<string, string>, number, string | null][] = [
      ['no key', {}, 401, 'caller_unauthenticated'],
      ['a pep key', bearer(PEP_KEY), 403, 'caller_forbidden'],
      ['the metrics key', bearer(SCRAPE_KEY), 200, null],
      ['an admin key', bearer(ADMIN_KEY), 200, null],
    ];
    for (const [note, headers, status, code] of cases) {
      it(`${note} → ${status}${code ? ` ${code}` : ''}`, async () => {
        s = await startTestService({}, keys);
        const res = await s.app.inject({ method: 'GET', url: '/metrics', headers });
        expect(res.statusCode).toBe(status);
        if (code !== null) expect(res.json().code).toBe(code);
        else expect(res.body).toMatch(/^# HELP mcp_warden_/m);
      });
    }

    it('a metrics key can do nothing else', async () => {
      s = await startTestService({}, keys);
      const headers = bearer(SCRAPE_KEY);
      const decide = await s.app.inject({
        method: 'POST',
        url: '/v1/decide',
        headers,
        payload: call(await s.token(), 'fs_read'),
      });
      expect(decide.statusCode).toBe(403);
      expect(decide.json().code).toBe('caller_forbidden');
      for (const url of ['/v1/sessions?subject=alice', '/v1/audit', '/v1/status']) {
        const res = await s.app.inject({ method: 'GET', url, headers });
        expect({ url, code: res.json().code }).toEqual({ url, code: 'caller_forbidden' });
      }
    });
  });
});
