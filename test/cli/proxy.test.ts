import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { UPSTREAM_IDENTITY_JWKS_PATH } from '../../src/decision/upstream-identity.ts';
import { loadDevIssuer } from '../../src/identity/dev-issuer.ts';
import { startCommand, until, type RunningService } from '../helpers/cli.ts';
import { fixtureBundle } from '../helpers/paths.ts';
import { postInitialize } from '../helpers/proxy.ts';
import { echoHandler, startStubUpstream, type StubUpstream } from '../helpers/stub-upstream.ts';

const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

/**
 * `mcp-warden proxy --dev` with the config `configOf(dir)` (its dev key at `dir/dev.json`)
 * in front of `stub`, and a token of alice for it.
 */
async function startDevProxy(
  stub: StubUpstream,
  configOf: (dir: string) => Record<string, unknown>,
): Promise<{ p: RunningService; token: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-proxy-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configOf(dir)));
  const args = ['proxy', '--dev', '--config', 'config.json', '--port', '0', '--upstream', stub.url];
  const p = await startCommand([...args, '--bundle', fixtureBundle('catalogue-everything')], {
    cwd: dir,
    listening: /proxy listening on (http:\/\/\S+)/,
  });
  const devIssuer = await loadDevIssuer(join(dir, 'dev.json'));
  return { p, token: await devIssuer.mint({ sub: 'alice', audience: p.url, scope: 'mcp:read' }) };
}

describe('proxy: the shutdown every command shares', () => {
  let upstream: StubUpstream | undefined;
  let proxy: RunningService | undefined;
  let release: () => void = () => undefined;
  afterEach(async () => {
    release();
    proxy?.child.kill('SIGKILL');
    await upstream?.stop();
    proxy = undefined;
  });

  /**
   * `mcp-warden proxy --dev` in front of a stub upstream that holds its answer to the
   * request with id 1 (a stream left open) until `release()`; an MCP session opened.
   */
  async function start(server: Record<string, unknown>) {
    const stub = await startStubUpstream();
    upstream = stub;
    const { p, token } = await startDevProxy(stub, (dir) => ({
      server: { dev_key_file: join(dir, 'dev.json'), ...server },
      proxy: { upstream: { protocol: 'both' } },
    }));
    proxy = p;
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    };
    const init = await fetch(p.url, { method: 'POST', headers, body: JSON.stringify(INIT) });
    expect(init.status).toBe(200);
    await init.text();
    const session = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id') as string };
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stub.handler = (seen, res) => {
      const { id } = seen.body as { id: number };
      if (id !== 1) return echoHandler(seen, res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      void released.then(() => res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result: {} })}\n\n`));
    };
    const ping = (id: number) =>
      fetch(p.url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }) });
    return { p, stub, ping };
  }

  // Then exits 0.
  it('serves through the delay, then answers new requests 503 while a stream in flight finishes', async () => {
    const { p, stub, ping } = await start({ shutdown_delay_ms: 3_000, shutdown_grace_ms: 30_000 });
    const exited = once(p.child, 'exit');
    const inFlight = await ping(1);
    expect(inFlight.status).toBe(200);
    let streamDone = false;
    const body = inFlight.text().finally(() => {
      streamDone = true;
    });
    await until(() => stub.seen.some((r) => (r.body as { id?: number } | undefined)?.id === 1), 'the stream upstream');

    p.child.kill('SIGTERM');
    await until(() => p.output().includes('SIGTERM: draining, then closing'), 'the signal to be taken');
    expect(p.output()).toContain('"delay_ms":3000');
    // The delay: the proxy still serves new requests.
    expect((await ping(2)).status).toBe(200);
    let status = 200;
    await until(async () => {
      status = (await ping(3)).status;
      return status !== 200;
    }, 'new requests to be refused');
    expect(status).toBe(503);
    expect(streamDone).toBe(false);
    expect(p.child.exitCode).toBeNull();

    release();
    expect(await body).toContain('"id":1');
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it('a second signal exits at once with 128 + 15, the stream in flight cut', async () => {
    const { p, ping } = await start({ shutdown_grace_ms: 60_000 });
    const exited = once(p.child, 'exit');
    const inFlight = await ping(1);
    const body = inFlight.text().catch((err: Error) => err);
    p.child.kill('SIGTERM');
    await until(() => p.output().includes('SIGTERM: draining, then closing'), 'the first signal to be taken');
    p.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(128 + 15);
    expect(p.output()).toContain('SIGTERM again: exiting now');
    expect(await body).toBeInstanceOf(Error);
  });
});

describe('proxy: identity assertions for the upstream, in process', () => {
  let upstream: StubUpstream | undefined;
  let proxy: RunningService | undefined;
  afterEach(async () => {
    proxy?.child.kill('SIGKILL');
    await upstream?.stop();
  });

  it('sends the upstream a verifiable assertion of the caller, with the upstream URL as audience', async () => {
    const stub = await startStubUpstream();
    upstream = stub;
    const { p, token } = await startDevProxy(stub, (dir) => ({
      server: { dev_key_file: join(dir, 'dev.json') },
      identity: { upstream_assertion: { key_file: join(dir, 'keys', 'upstream.jwk') } },
      proxy: { upstream: { protocol: 'legacy', identity_header: 'X-Caller-Identity' } },
    }));
    proxy = p;
    stub.seen.length = 0;
    const init = await postInitialize(p.url, { authorization: `Bearer ${token}` });
    expect(init.status).toBe(200);
    await init.text();
    const assertion = stub.seen.at(-1)?.headers['x-caller-identity'];
    expect(typeof assertion).toBe('string');
    expect(stub.seen.at(-1)?.headers.authorization).toBeUndefined();
    const jwks = createRemoteJWKSet(new URL(UPSTREAM_IDENTITY_JWKS_PATH, p.url));
    const { payload } = await jwtVerify(assertion as string, jwks, { issuer: 'mcp-warden', audience: stub.url });
    expect(payload.sub).toBe('alice');
  });
});
