import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_USAGE } from '../../src/cli/usage.ts';
import { runCommand } from '../helpers/cli.ts';

/** An empty working directory: anything a refused command starts (var/, keys, a trail) shows in it. */
function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'mcp-warden-usage-'));
}

describe('every command has its own help', () => {
  const cases = [
    { args: ['serve', '--help'], command: 'serve' },
    { args: ['proxy', '-h'], command: 'proxy' },
    { args: ['dev-token', '--help'], command: 'dev-token' },
    { args: ['api-key', '--id', 'x', '-h'], command: 'api-key' },
    { args: ['audit', 'verify', '--help'], command: 'audit' },
    { args: ['test', '--help'], command: 'test' },
    { args: ['help', 'serve'], command: 'serve' },
  ];
  for (const c of cases) {
    it(`${c.args.join(' ')}: that command's usage on stdout, exit 0, nothing run`, async () => {
      const dir = workdir();
      const { code, stdout, stderr } = await runCommand(c.args, dir);
      expect(code).toBe(0);
      expect(stdout.trim()).toBe(COMMAND_USAGE[c.command]);
      expect(stdout).toContain(`usage: mcp-warden ${c.command}`);
      expect(stderr).toBe('');
      expect(existsSync(join(dir, 'var'))).toBe(false);
    });
  }

  it('each usage lists -h/--help and the command', () => {
    for (const [command, usage] of Object.entries(COMMAND_USAGE)) {
      expect(usage).toMatch(new RegExp(`^usage: mcp-warden ${command}`));
      expect(usage).toContain('-h, --help');
    }
  });

  it('help <unknown command> exits 2 naming it', async () => {
    const { code, stdout, stderr } = await runCommand(['help', 'serv'], workdir());
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^unknown command: serv\n/);
  });
});

describe('a command line that cannot run exits 2 saying why, with the usage', () => {
  const cases = [
    { note: 'an unknown option', args: ['serve', '--verbose'], want: "serve: unknown option '--verbose'\n" },
    { note: 'a typo', args: ['serve', '--prot', '1'], want: "serve: unknown option '--prot' (did you mean --port?)" },
    {
      note: 'a typo (proxy)',
      args: ['proxy', '--upstrem', 'http://127.0.0.1:9/mcp'],
      want: "proxy: unknown option '--upstrem' (did you mean --upstream?)",
    },
    { note: 'a non-numeric port', args: ['serve', '--port', 'abc'], want: 'serve: --port expects a port number' },
    { note: 'a port out of range', args: ['serve', '--dev', '--port', '65536'], want: 'not "65536"' },
    {
      note: 'a non-numeric port (proxy)',
      args: ['proxy', '--port', '80x'],
      want: 'proxy: --port expects a port number',
    },
    {
      note: 'a flag given no value',
      args: ['serve', '--config'],
      want: "serve: Option '--config <value>' argument missing",
    },
    { note: 'a positional', args: ['serve', 'now'], want: "serve: Unexpected argument 'now'" },
    { note: 'a missing --sub', args: ['dev-token'], want: 'dev-token: --sub <id> is required' },
    { note: 'a bad --ttl', args: ['dev-token', '--sub', 'a', '--ttl', '1h'], want: 'dev-token: --ttl expects a whole' },
    { note: 'a bad --url', args: ['dev-token', '--sub', 'a', '--url', 'ftp://x'], want: 'dev-token: --url expects' },
    { note: 'a missing --id', args: ['api-key'], want: 'api-key: --id <caller id> is required' },
    { note: 'a bad --role', args: ['api-key', '--id', 'a', '--role', 'root'], want: 'api-key: --role expects pep' },
    { note: 'a typo (api-key)', args: ['api-key', '--idd', 'a'], want: "unknown option '--idd' (did you mean --id?)" },
    // A command whose parser is not ours still gets the same answer.
    {
      note: 'an unknown option (test)',
      args: ['test', 'policies', '--coverage'],
      want: "test: Unknown option '--coverage'",
    },
  ];
  for (const c of cases) {
    it(`${c.note}: ${c.args.join(' ')}`, async () => {
      const dir = workdir();
      const { code, stdout, stderr } = await runCommand(c.args, dir);
      expect(code).toBe(2);
      expect(stderr).toContain(c.want);
      const command = c.args[0] as string;
      expect(stderr).toContain(`\n\n${COMMAND_USAGE[command]}`);
      expect(stdout).toBe('');
      // Refused before anything started: no keys, no trail.
      expect(existsSync(join(dir, 'var'))).toBe(false);
    });
  }
});
