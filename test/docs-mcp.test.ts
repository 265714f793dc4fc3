import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/cli/proxy.ts';
import { ROOT } from './helpers/paths.ts';

const run = promisify(execFile);

/** The `sh` blocks of docs/mcp.md's copy-paste section, as written. */
function copyPasteBlocks(): [string, string] {
  const doc = readFileSync(join(ROOT, 'docs/mcp.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The proxy: copy-paste setup'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1] as string);
  expect(blocks.length, 'two sh blocks in the copy-paste section').toBeGreaterThanOrEqual(2);
  return [blocks[0] as string, blocks[1] as string];
}

/** The commands of a block: comments dropped, `\` continuations joined. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** `# → …` lines as patterns: `…` is anything, a trailing `(…)` remark is left out, the rest is literal. */
function expectations(block: string): RegExp[] {
  return block
    .split('\n')
    .filter((l) => l.startsWith('# → '))
    .map((l) => l.slice(4).replace(/ {2,}\(.*\)$/, ''))
    .map((l) => new RegExp(l.split('…').map(literal).join('[\\s\\S]*?')));
}
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/mcp.md copy-paste setup, run as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-docs-mcp-'));
  const children: ChildProcess[] = [];
  const ports = new Map<string, string>();
  // Only the ports differ: each listener gets a free one instead of the documented one.
  const localize = (text: string) => {
    let out = text;
    for (const [documented, free] of ports) out = out.replaceAll(documented, free);
    return out;
  };
  // dev-token asks the service at its default URL, MCP_WARDEN_URL, whose port moved too.
  const env = () => ({
    ...process.env,
    NO_COLOR: '1',
    MCP_WARDEN_AUDIT_FILE: join(dir, 'audit.jsonl'),
    MCP_WARDEN_URL: `http://127.0.0.1:${ports.get('8181')}`,
    // The commands leave the service's and the proxy's ports at their defaults.
    MCP_WARDEN_PORT: ports.get('8181'),
    MCP_WARDEN_PROXY_PORT: ports.get('8282'),
  });

  /** Starts a documented long-running command and resolves once its output matches `ready`. */
  const start = (command: string, ready: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('bash', ['-c', localize(command)], { cwd: ROOT, env: env(), detached: true });
      children.push(child);
      let out = '';
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (ready.test(out)) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`${command} exited with ${code}:\n${out}`)));
    });

  beforeAll(async () => {
    for (const documented of ['8181', '8282', '3001']) ports.set(documented, String(await freePort('127.0.0.1')));
    const [setup] = copyPasteBlocks();
    const [build, service, upstream, proxy] = commands(setup);
    expect([build, service, upstream, proxy].every((c) => c !== undefined)).toBe(true);
    await run('bash', ['-euo', 'pipefail', '-c', build as string], { cwd: ROOT, env: env() });
    await start(service as string, /listening/i);
    await start(upstream as string, new RegExp(`listening on port ${ports.get('3001')}`));
    await start(proxy as string, /listening/i);
  }, 90_000);
  afterAll(async () => {
    // Each command runs in a process group of its own (npm and its children): stop the group.
    const signal = (child: ChildProcess, name: NodeJS.Signals) => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, name);
        } catch {
          // gone already
        }
      }
    };
    for (const child of children) signal(child, 'SIGTERM');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              signal(child, 'SIGKILL');
              resolve();
            }, 15_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }, 30_000);

  it('every answer matches the `# →` line written under its command, in order', async () => {
    const [, client] = copyPasteBlocks();
    const wanted = expectations(client);
    expect(wanted.length).toBeGreaterThanOrEqual(4);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', localize(client)], { cwd: ROOT, env: env() });
    let rest = stdout;
    for (const [i, pattern] of wanted.entries()) {
      const match = pattern.exec(rest);
      expect(match, `expectation ${i + 1} (${pattern.source}) in:\n${rest}`).not.toBeNull();
      rest = rest.slice((match as RegExpExecArray).index + (match as RegExpExecArray)[0].length);
    }
  }, 60_000);
});
