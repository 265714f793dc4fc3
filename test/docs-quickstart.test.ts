import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, startServe } from './helpers/cli.ts';
import { ROOT } from './helpers/paths.ts';

const run = promisify(execFile);

/** The README's copy-paste block after "In a second terminal", as written. */
function quickstartBlock(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('```sh\n', readme.indexOf('In a second terminal'));
  const end = readme.indexOf('\n```', start + 6);
  expect(start, 'the quickstart block is in README.md').toBeGreaterThan(0);
  return readme.slice(start + 6, end + 1);
}

/** `# → …` lines of a block as patterns: `…` stands for anything, the rest is literal. */
function expectations(block: string): RegExp[] {
  return block
    .split('\n')
    .filter((l) => l.startsWith('# → '))
    .map((l) => l.slice(4).split('…').map(literal).join('.*'))
    .map((source) => new RegExp(source));
}
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('README quickstart, run as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-readme-'));
  let service: RunningService;
  beforeAll(async () => {
    service = await startServe(['--dev'], dir);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('every answer matches the `# →` line written under its command', async () => {
    const block = quickstartBlock();
    const wanted = expectations(block);
    expect(wanted.length).toBeGreaterThanOrEqual(4);
    // Only the port differs: the service listens on a free one instead of 8181.
    const port = new URL(service.url).port;
    const script = block.replaceAll('localhost:8181', `127.0.0.1:${port}`);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env: { ...process.env, MCP_WARDEN_URL: service.url, NO_COLOR: '1' },
    });
    const answers = stdout.trim().split('\n');
    expect(answers).toHaveLength(wanted.length);
    for (const [i, pattern] of wanted.entries()) expect(answers[i], `answer ${i + 1}`).toMatch(pattern);
  });
});
