import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { z } from 'zod';
import { FORBIDDEN_CODE, guardTransport, type GuardOptions } from '../../src/sdk/guard.ts';
import type { Warden } from '../../src/pep/warden.ts';
import { SERVER } from './tokens.ts';

/** A real SDK server on loopback, every session guarded; `calls` counts tool handler runs. */
export interface GuardedSdkServer {
  readonly url: URL;
  /** Names of the tools whose handler ran, in order. */
  readonly calls: string[];
  /** Open MCP sessions by their `Mcp-Session-Id`. */
  readonly sessions: Map<string, StreamableHTTPServerTransport>;
  close(): Promise<void>;
}

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

/** The catalogue of the default policy, plus one tool, prompt and resource it does not know. */
function buildServer(calls: string[]): McpServer {
  const mcp = new McpServer({ name: 'files', version: '1.0.0' });
  const pathTool = (name: string, description: string) =>
    mcp.registerTool(name, { description, inputSchema: { path: z.string() } }, async ({ path }) => {
      calls.push(name);
      return text(`${name} ${path}`);
    });
  pathTool('fs_read', 'Read a file');
  pathTool('fs_list', 'List a directory');
  pathTool('fs_write', 'Write a file');
  pathTool('fs_delete', 'Delete a file');
  pathTool('debug_eval', 'Not in the policy catalogue');
  // A paginated search: each result carries the upstream's own `state` for the next page.
  const search = { description: 'Search', inputSchema: { query: z.string(), state: z.string().optional() } };
  mcp.registerTool('search_docs', search, async ({ query, state }) => {
    calls.push('search_docs');
    const page = state === undefined ? 1 : Number(state.split(':')[1]) + 1;
    const next = `cursor:${page}:${randomUUID()}`;
    return { ...text(`found ${query}, page ${page}`), structuredContent: { hits: [query], state: next } };
  });
  for (const name of ['summarize', 'review_changes', 'secret_prompt']) {
    mcp.registerPrompt(name, { description: name }, () => ({
      messages: [{ role: 'user', content: { type: 'text', text: name } }],
    }));
  }
  for (const uri of ['file:///srv/data/readme.txt', 'file:///etc/passwd']) {
    mcp.registerResource(uri, uri, {}, async () => ({ contents: [{ uri, text: uri }] }));
  }
  return mcp;
}

/**
 * Serves MCP over the SDK's Streamable HTTP transport (one transport per session, as in
 * the SDK docs), guarded by `guardTransport` (unguarded with a null `warden`: an upstream
 * for the proxy to guard). The bearer token goes to `req.auth`.
 */
export async function startGuardedSdkServer(
  warden: Warden | null,
  options: Partial<Omit<GuardOptions, 'warden'>> = {},
): Promise<GuardedSdkServer> {
  const calls: string[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req: IncomingMessage & { auth?: AuthInfo }, res) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (bearer !== null) req.auth = { token: bearer[1] as string, clientId: 'test-client', scopes: [] };
    const sid = req.headers['mcp-session-id'];
    void (async () => {
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (transport === undefined && typeof sid === 'string') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
        return;
      }
      if (transport === undefined) {
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          onsessioninitialized: (id) => void sessions.set(id, created),
        });
        created.onclose = () => void (created.sessionId !== undefined && sessions.delete(created.sessionId));
        await buildServer(calls).connect(
          warden === null ? created : guardTransport(created, { warden, server: SERVER, ...options }),
        );
        transport = created;
      }
      await transport.handleRequest(req, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    calls,
    sessions,
    async close() {
      for (const transport of sessions.values()) await transport.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A real SDK client; with `sessionId` it reuses that session without initializing. */
export async function connectClient(url: URL, token: string | undefined, sessionId?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    sessionId,
  });
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** A loopback port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** What a guard refusal carries in its JSON-RPC error `data`. */
export interface RefusalData {
  readonly reasons: readonly { readonly code: string; readonly message: string }[];
  readonly decision_id: string | null;
}

/** The McpError (-32003) a refused request rejects with; fails the test if the request succeeds. */
export async function refusalOf(promise: Promise<unknown>): Promise<McpError & { data: RefusalData }> {
  const err = await promise.then(
    () => expect.fail('the request was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  expect((err as McpError).code).toBe(FORBIDDEN_CODE);
  return err as McpError & { data: RefusalData };
}

/** The reason codes of a refusal, in order. */
export async function refusalCodes(promise: Promise<unknown>): Promise<string[]> {
  return (await refusalOf(promise)).data.reasons.map((r) => r.code);
}
