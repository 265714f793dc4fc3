import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { devBindProblem, startCore } from '../../src/service.ts';
import { runCommand } from '../helpers/cli.ts';

// With API keys the service may listen beyond loopback, so only the dev-mode rule stands in the way.
const KEYED = { callers: { api_keys: [{ id: 'pep', sha256: 'a'.repeat(64), role: 'pep' }] } };

/** A fresh working directory holding `config`; nothing else, so anything a start leaves behind shows. */
function workdir(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-dev-bind-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('dev mode beyond loopback, tried for real', () => {
  const cases = [
    {
      note: 'proxy --dev --host 0.0.0.0',
      args: ['proxy', '--dev', '--host', '0.0.0.0', '--upstream', 'http://127.0.0.1:9/mcp'],
    },
    { note: 'proxy --dev --host ::', args: ['proxy', '--dev', '--host', '::', '--upstream', 'http://127.0.0.1:9/mcp'] },
    { note: 'serve --dev --host 0.0.0.0 (API keys configured)', args: ['serve', '--dev', '--host', '0.0.0.0'] },
  ];
  for (const c of cases) {
    it(`${c.note}: exits 2 saying why, and never listens or starts anything`, async () => {
      const dir = workdir(KEYED);
      const { code, stdout, stderr } = await runCommand([...c.args, '--config', 'config.json', '--port', '0'], dir);
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /refusing dev mode on (0\.0\.0\.0|::): dev mode trusts a local issuer and is for loopback only/,
      );
      expect(`${stdout}${stderr}`).not.toMatch(/listening/);
      // No dev key, audit trail or checkpoint key: the core never started.
      expect(existsSync(join(dir, 'var'))).toBe(false);
    });
  }

  it('serve with workers: the primary refuses before forking any worker', async () => {
    const dir = workdir({
      ...KEYED,
      server: { workers: 2 },
      session: { store: 'redis', redis: { url: 'redis://127.0.0.1:9' } },
    });
    const { code, stdout, stderr } = await runCommand(
      ['serve', '--dev', '--host', '0.0.0.0', '--config', 'config.json'],
      dir,
    );
    expect(code).toBe(2);
    expect(stderr).toContain('refusing dev mode on 0.0.0.0');
    expect(`${stdout}${stderr}`).not.toMatch(/listening|worker/);
    expect(existsSync(join(dir, 'var'))).toBe(false);
  });

  it('serve without API keys beyond loopback: exits 2 before forking workers, nothing listens', async () => {
    for (const server of [{}, { workers: 2 }]) {
      const dir = workdir({ server, session: { store: 'redis', redis: { url: 'redis://127.0.0.1:9' } } });
      const { code, stdout, stderr } = await runCommand(['serve', '--host', '0.0.0.0', '--config', 'config.json'], dir);
      expect(code).toBe(2);
      expect(stderr).toContain('refusing to listen on 0.0.0.0: no API keys are configured');
      expect(`${stdout}${stderr}`).not.toMatch(/listening|worker/);
      expect(existsSync(join(dir, 'var'))).toBe(false);
    }
  });

  it('a core started in-process for a non-loopback bind with dev on throws before starting its parts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-dev-bind-'));
    const config = loadConfig({ env: {}, overrides: { server: { dev: true, dev_key_file: join(dir, 'dev.json') } } });
    await expect(startCore(config, { host: '0.0.0.0' })).rejects.toThrow(/refusing dev mode on 0\.0\.0\.0/);
    expect(existsSync(join(dir, 'dev.json'))).toBe(false);
  });
});

describe('devBindProblem', () => {
  const cases = [
    { note: 'dev on IPv4 loopback', dev: true, host: '127.0.0.1', refused: false },
    { note: 'dev on another 127/8 address', dev: true, host: '127.0.0.2', refused: false },
    { note: 'dev on IPv6 loopback', dev: true, host: '::1', refused: false },
    { note: 'dev on localhost', dev: true, host: 'localhost', refused: false },
    { note: 'dev on every IPv4 interface', dev: true, host: '0.0.0.0', refused: true },
    { note: 'dev on every interface', dev: true, host: '::', refused: true },
    { note: 'dev on a LAN address', dev: true, host: '10.1.2.3', refused: true },
    { note: 'dev on a mapped non-loopback', dev: true, host: '::ffff:10.1.2.3', refused: true },
    { note: 'dev on a host name', dev: true, host: 'warden.example.com', refused: true },
    { note: 'no dev, any address', dev: false, host: '0.0.0.0', refused: false },
  ];
  for (const c of cases) {
    it(c.note, () => {
      expect(devBindProblem(c.dev, c.host) !== null).toBe(c.refused);
    });
  }
});
