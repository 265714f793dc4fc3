import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import { createWardenClient } from '../../src/pep/http-warden.ts';
import { IMPLEMENTED_OBLIGATIONS } from '../../src/pep/obligations.ts';
import { buildProxyApp } from '../../src/proxy/app.ts';
import { createService } from '../../src/service.ts';

/** The decision service (its real config, audit file and HTTP API) and the proxy calling it over HTTP. */
export interface WardenStack {
  readonly serviceUrl: string;
  /** The proxy's MCP endpoint. */
  readonly proxyUrl: string;
  /** An admin API key of the service. */
  readonly adminKey: string;
  /** GET of an admin route of the service, its JSON body. */
  admin<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Starts the service for `issuer`'s tokens (by discovery) for `resource`, with config
 * `overrides` merged in, and the proxy for `resource` in front of `upstreamUrl`.
 */
export async function startWardenStack(options: {
  readonly issuer: string;
  readonly resource: string;
  readonly upstreamUrl: string;
  /** The service's port, when its URLs (an approval page, the console) must be known first; any free one otherwise. */
  readonly port?: number;
  readonly overrides?: { readonly identity?: Record<string, unknown> } & Record<string, unknown>;
}): Promise<WardenStack> {
  const proxyKey = randomBytes(24).toString('base64url');
  const adminKey = randomBytes(24).toString('base64url');
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-stack-'));
  const { identity, ...rest } = options.overrides ?? {};
  const config = loadConfig({
    env: {},
    overrides: {
      server: { port: options.port ?? 0 },
      identity: { issuers: [{ issuer: options.issuer, discovery: true }], servers: [options.resource], ...identity },
      callers: {
        api_keys: [
          { id: 'proxy', sha256: sha256(proxyKey), role: 'pep' },
          { id: 'console', sha256: sha256(adminKey), role: 'admin' },
        ],
      },
      audit: { file: join(dir, 'audit.jsonl'), checkpoint_key_file: join(dir, 'checkpoint.jwk') },
      ...rest,
    },
  });
  const service: FastifyInstance = await createService(config);
  const serviceUrl = await service.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const proxy = await buildProxyApp({
    warden: createWardenClient({ url: serviceUrl, apiKey: proxyKey, obligations: IMPLEMENTED_OBLIGATIONS.proxy }),
    upstream: { url: options.upstreamUrl, headers: {}, timeoutMs: 5_000, connections: 8 },
    upstreamProtocol: 'auto',
    streams: { checkMs: 100, unavailableGraceMs: 1_000 },
    path: '/mcp',
    identity: {
      resource: options.resource,
      authorizationServers: [options.issuer],
      scopesSupported: ['mcp:read', 'mcp:write'],
      metadataUrl: 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp',
    },
    allowedOrigins: [],
    loopback: true,
    widenOnDemand: true,
    insufficientScopeReasons: [],
    maxSessions: 100,
    bodyLimit: 1 << 20,
  });
  const proxyUrl = `${await proxy.listen({ host: '127.0.0.1', port: 0 })}/mcp`;
  return {
    serviceUrl,
    proxyUrl,
    adminKey,
    async admin<T>(path: string) {
      const res = await fetch(`${serviceUrl}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async stop() {
      await proxy.close();
      await service.close();
    },
  };
}
