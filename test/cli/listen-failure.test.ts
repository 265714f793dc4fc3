import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenFailure, probeListen } from '../../src/cli/listen-failure.ts';
import { occupyPort, runCommandWithin } from '../helpers/cli.ts';

/** Far beyond a start-up: a command still running then has hung, and is killed so that its test fails. */
const WITHIN_MS = 15_000;

function workdir(config: unknown = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-listen-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('a port already taken', () => {
  let taken: Awaited<ReturnType<typeof occupyPort>> | undefined;
  afterEach(async () => {
    await taken?.close();
    taken = undefined;
  });

  const cases = [
    { note: 'serve --dev', args: ['serve', '--dev'], setting: 'server.port', config: {} },
    {
      note: 'proxy --dev (its core started in-process)',
      args: ['proxy', '--dev', '--upstream', 'http://127.0.0.1:9/mcp'],
      setting: 'proxy.port',
      config: {},
    },
    {
      // A worker that cannot listen would be restarted for ever: the primary refuses before forking.
      note: 'serve with workers',
      args: ['serve'],
      setting: 'server.port',
      config: { server: { workers: 2 }, session: { store: 'redis', redis: { url: 'redis://127.0.0.1:9' } } },
    },
  ];
  for (const c of cases) {
    it(`${c.note}: stops what it started and exits 1, naming host:port and how to change it`, async () => {
      taken = await occupyPort();
      const args = [...c.args, '--config', 'config.json', '--port', String(taken.port)];
      const { code, signal, stdout, stderr } = await runCommandWithin(args, {
        cwd: workdir(c.config),
        withinMs: WITHIN_MS,
      });
      // Exited by itself: nothing it started (audit sink, session store, watcher) kept it up.
      expect(signal).toBeNull();
      expect(code).toBe(1);
      expect(stderr).toContain(
        `${c.args[0]}: cannot listen on 127.0.0.1:${taken.port}: the port is already in use; ` +
          `choose another with --port <n> or ${c.setting}`,
      );
      expect(`${stdout}${stderr}`).not.toMatch(/listening on|worker \d/);
    });
  }
});

describe('listenFailure', () => {
  const target = { host: '127.0.0.1', port: 80, section: 'server' } as const;
  const cases = [
    { code: 'EACCES', want: 'cannot listen on 127.0.0.1:80: permission denied' },
    { code: 'EADDRNOTAVAIL', want: 'no such address on this machine; choose another with --host or server.host' },
    { code: 'EOTHER', want: 'cannot listen on 127.0.0.1:80: listen EOTHER' },
  ];
  for (const c of cases) {
    it(`says what ${c.code} means for the operator`, () => {
      expect(listenFailure(Object.assign(new Error(`listen ${c.code}`), { code: c.code }), target)).toContain(c.want);
    });
  }

  it('brackets an IPv6 host', () => {
    const err = Object.assign(new Error('x'), { code: 'EADDRINUSE' });
    expect(listenFailure(err, { host: '::1', port: 8181, section: 'proxy' })).toMatch(
      /^cannot listen on \[::1\]:8181: .* proxy\.port/,
    );
  });
});

describe('probeListen', () => {
  it('answers null for a free port and the failure for a taken one', async () => {
    const taken = await occupyPort();
    try {
      expect(await probeListen({ host: '127.0.0.1', port: taken.port, section: 'server' })).toContain(
        `127.0.0.1:${taken.port}: the port is already in use`,
      );
    } finally {
      await taken.close();
    }
    // The port just released: free again, and the probe leaves it so.
    expect(await probeListen({ host: '127.0.0.1', port: taken.port, section: 'server' })).toBeNull();
    expect(await probeListen({ host: '127.0.0.1', port: taken.port, section: 'server' })).toBeNull();
  });
});
