import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/proxy.ts';
import { runCommand, startCommand } from '../helpers/cli.ts';

// Ports nothing listens on: the decision service and the upstream of a misconfigured proxy.
const closed = async () => `http://127.0.0.1:${await freePort('127.0.0.1')}`;

describe('proxy start-up: a decision service or an upstream that does not answer', () => {
  it('is a warning naming each, and the proxy still starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-neighbours-'));
    const [warden, upstream] = [await closed(), await closed()];
    const proxy = await startCommand(
      ['proxy', '--dev', '--port', '0', '--upstream', `${upstream}/mcp`, '--warden', warden],
      {
        cwd: dir,
        listening: /proxy listening on (http:\/\/\S+)/,
      },
    );
    try {
      expect(proxy.output()).toContain(`proxy: warning: the decision service at ${warden} does not answer`);
      expect(proxy.output()).toContain('pdp_unavailable');
      expect(proxy.output()).toContain(`proxy: warning: the upstream at ${upstream}/mcp does not answer`);
    } finally {
      await proxy.stop();
    }
  });

  it('with --require-neighbours: exit 1 before listening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-neighbours-'));
    const [warden, upstream] = [await closed(), await closed()];
    const args = ['proxy', '--dev', '--port', '0', '--upstream', `${upstream}/mcp`, '--warden', warden];
    const { code, stdout, stderr } = await runCommand([...args, '--require-neighbours'], dir);
    expect(code).toBe(1);
    expect(stderr).toContain(`proxy: the decision service at ${warden} does not answer`);
    expect(stderr).toContain(`proxy: the upstream at ${upstream}/mcp does not answer`);
    expect(stdout).not.toContain('proxy listening');
  });
});
