import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import {
  UPSTREAM_IDENTITY_JWKS_PATH,
  UPSTREAM_IDENTITY_TYP,
  loadUpstreamIdentitySigner,
} from '../../src/decision/upstream-identity.ts';
import { postInitialize, RESOURCE, startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { connectClient } from '../helpers/sdk-server.ts';
import { startSdkUpstream, type SdkUpstream } from '../helpers/sdk-upstream.ts';

// The upstream behind the proxy binds its own state to the user: the proxy sends it a
// short-lived assertion of the verified principal, signed by the warden, never the
// client's token. A real SDK server verifies it against the JWKS the proxy publishes.
const HEADER = 'mcp-warden-identity';
const ISSUER = 'mcp-warden-test';

interface Upstream extends SdkUpstream {
  /** Set once the proxy listens: where the upstream fetches the assertion keys. */
  jwks?: URL;
  /** The clock the assertions were signed on (the test core's fake clock). */
  now?: () => number;
}

/** An SDK server whose `fs_read` answers with who the verified assertion says is asking. */
async function startIdentityUpstream(): Promise<Upstream> {
  let upstream: Upstream | undefined;
  const whoIs = async (headers: Record<string, string | string[] | undefined> | undefined): Promise<string> => {
    const assertion = headers?.[HEADER];
    if (typeof assertion !== 'string') return 'anonymous';
    try {
      const { payload, protectedHeader } = await jwtVerify(assertion, createRemoteJWKSet(upstream!.jwks!), {
        issuer: ISSUER,
        audience: upstream!.url,
        typ: UPSTREAM_IDENTITY_TYP,
        currentDate: new Date(upstream!.now!()),
      });
      const claims = payload as { sub: string; client_id?: string; mcp_warden: { token_iss: string } };
      const fromIssuer = claims.mcp_warden.token_iss !== '';
      return `${claims.sub} via ${claims.client_id ?? '-'} (${protectedHeader.alg}, ${fromIssuer})`;
    } catch (err) {
      return `rejected: ${(err as Error).message}`;
    }
  };
  const served = await startSdkUpstream(() => {
    const mcp = new McpServer({ name: 'identity-upstream', version: '1.0.0' });
    mcp.registerTool('fs_read', { inputSchema: { path: z.string() } }, async (_args, extra) => ({
      content: [{ type: 'text', text: await whoIs(extra.requestInfo?.headers) }],
    }));
    return mcp;
  });
  upstream = served;
  return upstream;
}

/** The test proxy in front of `upstream`, sending it assertions the core signs for `server` only. */
async function proxyAssertingFor(upstream: Upstream, server: string): Promise<TestProxy> {
  const signer = await loadUpstreamIdentitySigner({
    key_file: join(mkdtempSync(join(tmpdir(), 'warden-upstream-id-')), 'key.jwk'),
    issuer: ISSUER,
    ttl_seconds: 60,
    audiences: { [server]: upstream.url },
  });
  return startTestProxy(upstream.url, {
    bundle: DEFAULT_BUNDLE,
    upstream: { identityHeader: HEADER },
    upstreamIdentity: signer,
  });
}

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text;

describe('identity assertions for the upstream, through the proxy', () => {
  let upstream: Upstream;
  let proxy: TestProxy;
  const clients: Client[] = [];

  beforeAll(async () => {
    upstream = await startIdentityUpstream();
    proxy = await proxyAssertingFor(upstream, RESOURCE);
    upstream.jwks = new URL(UPSTREAM_IDENTITY_JWKS_PATH, proxy.url);
    upstream.now = proxy.core.clock.read;
  });
  beforeEach(() => {
    upstream.received.length = 0;
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await proxy?.stop();
    await upstream?.close();
  });

  const connect = async (sub: string, headers: Record<string, string> = {}) => {
    const token = await proxy.token(sub, 'mcp:read', { roles: ['reader'], client_id: `${sub}-app` });
    const client = await connectClient(new URL(proxy.url), token);
    clients.push(client);
    return { client, token, headers };
  };

  it('the upstream verifies who is asking: the principal and its client, signed by the warden', async () => {
    const { client, token } = await connect('alice');
    const answer = await client.callTool({ name: 'fs_read', arguments: { path: '/srv/data/a' } });
    expect(textOf(answer)).toBe('alice via alice-app (EdDSA, true)');
    // Every request the upstream saw carried an assertion, and none carried the client's token.
    expect(upstream.received.length).toBeGreaterThan(0);
    for (const headers of upstream.received) {
      expect(typeof headers[HEADER]).toBe('string');
      expect(headers.authorization).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain(token);
    }
    // The decision that allowed the call names the audience; the assertion's jti is its id.
    const decision = proxy.core.audit.saved.filter((r) => r.kind === 'decision' && r.tool === 'fs_read').at(-1);
    expect(decision?.detail?.upstream_identity).toBe(upstream.url);
  });

  it('two principals get two identities; the assertion is for this upstream only', async () => {
    const { client: bob } = await connect('bob');
    expect(textOf(await bob.callTool({ name: 'fs_read', arguments: { path: '/srv/data/b' } }))).toBe(
      'bob via bob-app (EdDSA, true)',
    );
    const assertion = upstream.received.at(-1)?.[HEADER] as string;
    await expect(
      jwtVerify(assertion, createRemoteJWKSet(upstream.jwks!), {
        audience: 'http://another-upstream.example/mcp',
        currentDate: new Date(upstream.now!()),
      }),
    ).rejects.toThrow(/aud/);
  });

  it('an assertion the client forges in the header never reaches the upstream', async () => {
    const token = await proxy.token('mallory', 'mcp:read', { roles: ['reader'] });
    const response = await postInitialize(proxy.url, {
      authorization: `Bearer ${token}`,
      [HEADER]: 'forged.assertion.value',
    });
    expect(response.status).toBe(200);
    await response.body?.cancel();
    expect(upstream.received.map((h) => h[HEADER])).not.toContain('forged.assertion.value');
    expect(upstream.received.every((h) => typeof h[HEADER] === 'string')).toBe(true);
  });
});

describe('identity assertions: fail closed', () => {
  let upstream: Upstream;
  let proxy: TestProxy;

  beforeAll(async () => {
    upstream = await startIdentityUpstream();
    // The upstream takes assertions, but the warden signs none for this server.
    proxy = await proxyAssertingFor(upstream, 'https://some-other-server.example/mcp');
    // The proxy's own probes of the upstream's eras carry no principal, hence no assertion.
    upstream.received.length = 0;
  });
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  it('an allowed request without an assertion for the upstream is refused, and never reaches it', async () => {
    const token = await proxy.token('alice', 'mcp:read', { roles: ['reader'] });
    const response = await postInitialize(proxy.url, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { data: { reasons: { code: string }[] } } };
    expect(body.error.data.reasons.map((r) => r.code)).toEqual(['upstream_identity_unavailable']);
    expect(upstream.received).toEqual([]);
    await expect(connectClient(new URL(proxy.url), token)).rejects.toThrow(/upstream_identity_unavailable|503/);
    expect(upstream.received).toEqual([]);
  });
});
