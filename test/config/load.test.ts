import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

function fileWith(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mcp-warden-cfg-')), 'config.json');
  writeFileSync(path, content);
  return path;
}

describe('loadConfig', () => {
  it('gives secure defaults: loopback, dev off, no issuers, 64 KiB bodies', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8181, dev: false, body_limit_bytes: 65_536 });
    expect(config.identity.issuers).toEqual([]);
    expect(config.policy.bundle).toMatch(/bundles\/default\.tar\.gz$/);
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
    const file = fileWith(JSON.stringify({
      server: { port: 'eighty', colour: 'blue' },
      identity: { issuers: [{ issuer: 'https://idp', jwks_file: '/k', algorithms: ['HS256'] }, { issuer: 'https://idp2' }] },
    }));
    let error: ConfigError | undefined;
    try {
      loadConfig({ env: { MCP_WARDEN_CONFIG: file, MCP_WARDEN_DEV: 'maybe' } });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.problems.join('\n');
    expect(text).toMatch(/MCP_WARDEN_DEV/);
    expect(text).toMatch(/server\.port/);
    expect(text).toMatch(/server: Unrecognized key: "colour"|colour/);
    expect(text).toMatch(/identity\.issuers\.0\.algorithms: HS\* algorithms need hmac_secret/);
    expect(text).toMatch(/identity\.issuers\.1: set exactly one key source/);
  });

  it('refuses a file that is not JSON', () => {
    expect(() => loadConfig({ env: { MCP_WARDEN_CONFIG: fileWith('{port: 1') } })).toThrow(ConfigError);
  });
});
