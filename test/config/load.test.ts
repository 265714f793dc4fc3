import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

function fileWith(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mcp-warden-cfg-')), 'config.json');
  writeFileSync(path, content);
  return path;
}

/** The problems a refused configuration reports (fails when it is accepted). */
function problemsOf(options: Parameters<typeof loadConfig>[0]): readonly string[] {
  try {
    loadConfig(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

describe('loadConfig', () => {
  it('gives secure defaults: loopback, dev off, no issuers, 64 KiB bodies', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8181, dev: false, body_limit_bytes: 65_536 });
    expect(config.identity.issuers).toEqual([]);
    expect(config.policy.bundle).toMatch(/bundles\/default\.tar\.gz$/);
  });

  it("keeps the checkpoint key out of the trail's directory, and verifies against no key by default", () => {
    const { audit } = loadConfig({ env: {} });
    expect(audit.file).toBe('var/audit/audit.jsonl');
    expect(audit.checkpoint_key_file).toBe('var/keys/audit-checkpoint.jwk');
    expect(dirname(audit.checkpoint_key_file)).not.toBe(dirname(audit.file));
    expect(audit).toMatchObject({ trusted_keys: [], witnesses: [], require_witness: false });
  });

  it('refuses require_witness without a witness, and a witness key that is not a cosignature key', () => {
    expect(() => loadConfig({ env: {}, overrides: { audit: { require_witness: true } } })).toThrow(/require_witness/);
    const logKey = 'mcp-warden+6b919052+AequjJDojpeZbtEE1MdGh5XEuJBl06ChxWe3v+heFRWb';
    expect(() =>
      loadConfig({ env: {}, overrides: { audit: { witnesses: [{ url: 'https://w.example', vkey: logKey }] } } }),
    ).toThrow(/must be a cosignature\/v1 key/);
  });

  it('applies the environment over the file, and freezes the result', () => {
    const file = fileWith(JSON.stringify({ server: { port: 9000, log_level: 'warn' } }));
    const config = loadConfig({ env: { MCP_WARDEN_CONFIG: file, MCP_WARDEN_PORT: '9100', MCP_WARDEN_DEV: 'true' } });
    expect(config.server).toMatchObject({ port: 9100, dev: true, log_level: 'warn' });
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('reports every problem at once, naming each', () => {
    const file = fileWith(
      JSON.stringify({
        server: { port: 'eighty', colour: 'blue' },
        identity: {
          issuers: [{ issuer: 'https://idp', jwks_file: '/k', algorithms: ['HS256'] }, { issuer: 'https://idp2' }],
        },
      }),
    );
    const text = problemsOf({ env: { MCP_WARDEN_CONFIG: file, MCP_WARDEN_DEV: 'maybe' } }).join('\n');
    expect(text).toMatch(/MCP_WARDEN_DEV/);
    expect(text).toMatch(/server\.port/);
    expect(text).toContain('server.colour: unknown key');
    expect(text).toMatch(/identity\.issuers\.0\.algorithms: HS\* algorithms need hmac_secret/);
    expect(text).toMatch(/identity\.issuers\.1: set exactly one key source/);
  });

  it('defaults the limits: 32 levels, 10 000 keys, 30 s requests, 10 s grace, 100 sessions each, no rate limit', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toMatchObject({
      max_json_depth: 32,
      max_json_keys: 10_000,
      request_timeout_ms: 30_000,
      shutdown_delay_ms: 0,
      shutdown_grace_ms: 10_000,
    });
    expect(config.server.rate_limit).toBeUndefined();
    expect(config.session.max_per_principal).toBe(100);
  });

  it('takes the limits from the file and the environment, the environment last', () => {
    const file = fileWith(
      JSON.stringify({
        server: { rate_limit: { max: 500 }, shutdown_grace_ms: 1000, max_json_depth: 16 },
        session: { max_per_principal: 5 },
      }),
    );
    const config = loadConfig({
      env: {
        MCP_WARDEN_CONFIG: file,
        MCP_WARDEN_SHUTDOWN_GRACE_MS: '25000',
        MCP_WARDEN_SHUTDOWN_DELAY_MS: '5000',
        MCP_WARDEN_REQUEST_TIMEOUT_MS: '2000',
        MCP_WARDEN_SESSIONS_PER_PRINCIPAL: '0',
      },
    });
    expect(config.server).toMatchObject({
      shutdown_grace_ms: 25_000,
      shutdown_delay_ms: 5_000,
      request_timeout_ms: 2_000,
      max_json_depth: 16,
    });
    expect(config.server.rate_limit).toEqual({ max: 500, time_window_ms: 60_000 });
    expect(config.session.max_per_principal).toBe(0);
  });

  it('reports every problem with the limits at once, with the others', () => {
    const file = fileWith(
      JSON.stringify({
        server: {
          max_json_depth: 2,
          max_json_keys: 'many',
          rate_limit: { max: 0, per: 'minute' },
          shutdown_grace_ms: -1,
        },
        session: { max_per_principal: 1.5 },
        callers: { api_keys: [{ id: 'scraper', sha256: 'a'.repeat(64), role: 'viewer' }] },
      }),
    );
    const problems = problemsOf({ env: { MCP_WARDEN_CONFIG: file, MCP_WARDEN_REQUEST_TIMEOUT_MS: 'soon' } });
    const paths = problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'MCP_WARDEN_REQUEST_TIMEOUT_MS',
        'server.max_json_depth',
        'server.max_json_keys',
        'server.rate_limit.max',
        'server.rate_limit.per',
        'server.shutdown_grace_ms',
        'session.max_per_principal',
        'callers.api_keys.0.role',
      ]),
    );
    expect(problems).toContain('server.rate_limit.per: unknown key');
  });

  it('accepts a metrics role for a scrape-only API key', () => {
    const config = loadConfig({
      env: {},
      overrides: { callers: { api_keys: [{ id: 'prometheus', sha256: 'b'.repeat(64), role: 'metrics' }] } },
    });
    expect(config.callers.api_keys[0]?.role).toBe('metrics');
  });

  it('refuses a file that is not JSON', () => {
    expect(() => loadConfig({ env: { MCP_WARDEN_CONFIG: fileWith('{port: 1') } })).toThrow(ConfigError);
  });
  it('identity assertions for the upstream: off by default; bounded lifetime; a header of its own', () => {
    const config = loadConfig({ env: {} });
    expect(config.identity.upstream_assertion).toBeUndefined();
    expect(config.proxy.upstream.identity_header).toBeUndefined();
    const on = loadConfig({ env: {}, overrides: { identity: { upstream_assertion: {} } } });
    expect(on.identity.upstream_assertion).toMatchObject({ ttl_seconds: 60, issuer: 'mcp-warden', audiences: {} });
    expect(on.identity.upstream_assertion?.key_file).not.toMatch(/audit/);
    expect(
      problemsOf({ env: {}, overrides: { identity: { upstream_assertion: { ttl_seconds: 3600 } } } }).join('\n'),
    ).toContain('identity.upstream_assertion.ttl_seconds');
    const clash = problemsOf({
      env: {},
      overrides: {
        proxy: { upstream: { headers: { 'X-Identity': 'static' }, identity_header: 'x-identity' } },
      },
    });
    expect(clash.join('\n')).toContain('proxy.upstream.identity_header');
  });
});
