import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, startCommand, type RunningService } from '../helpers/cli.ts';
import { startStubUpstream, type StubUpstream } from '../helpers/stub-upstream.ts';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

describe('dev-token --key-file: a token for proxy --dev, which serves no token route', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-dev-token-'));
  let upstream: StubUpstream;
  let proxy: RunningService;
  beforeAll(async () => {
    upstream = await startStubUpstream();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ proxy: { upstream: { protocol: 'legacy' } } }));
    proxy = await startCommand(
      ['proxy', '--dev', '--port', '0', '--config', 'config.json', '--upstream', upstream.url],
      {
        cwd: dir,
        listening: /proxy listening on (http:\/\/\S+)/,
      },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it('signs with the dev key the proxy keeps, and the proxy accepts the token', async () => {
    const endpoint = proxy.url;
    const args = ['dev-token', '--key-file', 'var/dev-issuer.jwk.json', '--sub', 'alice', '--scope', 'mcp:read'];
    const { code, stdout } = await runCommand([...args, '--server', endpoint], dir);
    expect(code).toBe(0);
    const answer = await fetch(endpoint, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stdout.trim()}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(initialize),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('mcp-session-id')).toMatch(/^mws_/);
  });

  it('refuses a key file that does not exist, instead of signing with a key no one trusts', async () => {
    const { code, stderr } = await runCommand(['dev-token', '--key-file', 'var/none.json', '--sub', 'a'], dir);
    expect(code).toBe(1);
    expect(stderr).toContain('no dev key at var/none.json');
    expect(existsSync(join(dir, 'var/none.json'))).toBe(false);
  });
});
