import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardenClient } from '../../src/pep/http-warden.ts';
import { buildProxyApp } from '../../src/proxy/app.ts';
import { postJson, startServe, type RunningService } from '../helpers/cli.ts';
import { startCountingTap, startEverything, type CountingTap, type Everything } from '../helpers/everything.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';

const RESOURCE = 'https://mcp.example.com/everything';
const LEGACY = '2025-11-25';

/**
 * The proxy deciding through replica A (a remote decision service); the session revoked
 * by a bulk revoke on replica B; the stream the proxy relays for it must close. With the
 * default check interval (500 ms) the aim is ≤ 2 s; the figure is printed, not asserted.
 */
describe('a stream relayed by a proxy, revoked on another replica', () => {
  let redis: RedisServer;
  let a: RunningService;
  let b: RunningService;
  let everything: Everything;
  let tap: CountingTap;
  let proxy: FastifyInstance;
  let proxyUrl: string;
  let token: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-streams-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: { dev: true, dev_key_file: join(dir, 'issuer.json') },
        policy: { bundle: join(process.cwd(), 'var/test-bundles/catalogue-everything.tar.gz') },
        session: { store: 'redis', redis: { url: redis.url, command_timeout_ms: 300 } },
      }),
    );
    a = await startServe(['--config', config], dir, { MCP_WARDEN_AUDIT_FILE: join(dir, 'a.jsonl') });
    b = await startServe(['--config', config], dir, { MCP_WARDEN_AUDIT_FILE: join(dir, 'b.jsonl') });
    token = (await postJson(`${a.url}/v1/dev/token`, { sub: 'sid', roles: ['reader'], server: RESOURCE })).json.token;
    everything = await startEverything();
    tap = await startCountingTap(everything.url);
    proxy = await buildProxyApp({
      warden: createWardenClient({ url: a.url }),
      upstream: { url: tap.url, headers: {}, timeoutMs: 5_000, connections: 8 },
      upstreamProtocol: 'auto',
      streams: { checkMs: 500, unavailableGraceMs: 5_000 },
      path: '/mcp',
      identity: {
        resource: RESOURCE,
        authorizationServers: [],
        scopesSupported: [],
        metadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp',
      },
      allowedOrigins: [],
      loopback: true,
      widenOnDemand: true,
      insufficientScopeReasons: [],
      maxSessions: 100,
      bodyLimit: 1 << 20,
    });
    proxyUrl = `${await proxy.listen({ host: '127.0.0.1', port: 0 })}/mcp`;
  });
  afterAll(async () => {
    await proxy?.close();
    await tap?.stop();
    await everything?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('closes within the aim, and nothing more reaches the upstream for that session', async () => {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    };
    const init = await fetch(proxyUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    await init.text();
    const session = init.headers.get('mcp-session-id')!;
    const stream = await fetch(proxyUrl, {
      headers: { ...headers, accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': LEGACY },
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const ended = (async () => {
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return performance.now();
    })();
    const revokedAt = performance.now();
    const bulk = await postJson(`${b.url}/v1/sessions/revoke`, { subject: 'sid' });
    expect(bulk.status).toBe(200);
    const closedAt = await ended;
    console.log(
      `stream closed ${(closedAt - revokedAt).toFixed(0)} ms after a ` +
        'bulk revoke on another replica (remote warden, check every 500 ms)',
    );
    tap.reset();
    const after = await fetch(proxyUrl, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': LEGACY },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'x' } },
      }),
    });
    expect([401, 404]).toContain(after.status);
    expect(tap.requests().filter((m) => m.method === 'tools/call')).toEqual([]);
  });
});
