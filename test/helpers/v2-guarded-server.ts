import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProtocolError } from '@modelcontextprotocol/client';
import { localhostHostValidation, NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import {
  acceptedContent,
  createMcpHandler,
  inputRequired,
  McpServer,
  type AuthInfo,
  type CallToolResult,
} from '@modelcontextprotocol/server';
import { expect } from 'vitest';
import { z } from 'zod';
import type { Warden } from '../../src/pep/warden.ts';
import { FORBIDDEN_CODE, guardFactory, guardTransport, type GuardOptions } from '../../src/sdk/index.ts';
import type { RefusalData } from './sdk-server.ts';
import { SERVER } from './tokens.ts';

/** `fs_read` of this path runs until its exchange is cut (or 5 s), for the supervision tests. */
export const SLOW_PATH = '/srv/data/slow.log';
/** `fs_list` of this directory first announces updates of a visible and of a hidden resource. */
export const WATCHED_DIR = '/srv/data/watched/';
/** The resources the server lists: one under the default policy's `file:///srv/data/`, one outside it. */
export const VISIBLE_URI = 'file:///srv/data/readme.txt';
export const HIDDEN_URI = 'file:///etc/passwd';
/** How `fs_write` begins the requestState it mints on its first round (then the path). */
export const WRITE_STATE_PREFIX = 'confirm-write:';

/** A v2 SDK server behind `createMcpHandler`, every instance guarded; `calls` counts tool handler runs. */
export interface GuardedV2Server {
  /** The Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  /** Names of the tools whose handler ran, in order (an `fs_write` round counts once). */
  readonly calls: string[];
  /** Handler runs that stopped because their exchange was closed under them. */
  readonly aborted: string[];
  /** The requestState `fs_write`'s second round received from the SDK. */
  readonly states: string[];
  /** What `createMcpHandler` reported to its `onerror`. */
  readonly errors: Error[];
  stop(): Promise<void>;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });

interface Counters {
  readonly calls: string[];
  readonly aborted: string[];
  readonly states: string[];
}

/** The default policy's catalogue, plus a tool, prompt and resource it does not know. */
function buildServer({ calls, aborted, states }: Counters): McpServer {
  const mcp = new McpServer(
    { name: 'files-v2', version: '1.0.0' },
    { capabilities: { resources: { subscribe: true, listChanged: true } } },
  );
  const path = { inputSchema: z.object({ path: z.string() }) };
  mcp.registerTool('fs_read', { description: 'Read a file', ...path }, async ({ path: file }, ctx) => {
    calls.push('fs_read');
    if (file === SLOW_PATH) {
      await sleep(5_000, undefined, { signal: ctx.mcpReq.signal }).catch(() => undefined);
      if (ctx.mcpReq.signal.aborted) aborted.push('fs_read');
    }
    return text(`fs_read ${file}`);
  });
  mcp.registerTool('fs_list', { description: 'List a directory', ...path }, async ({ path: dir }, ctx) => {
    calls.push('fs_list');
    if (dir === WATCHED_DIR) {
      for (const uri of [HIDDEN_URI, VISIBLE_URI])
        await ctx.mcpReq.notify({ method: 'notifications/resources/updated', params: { uri } });
    }
    return text(`fs_list ${dir}`);
  });
  // MCP 2026-07-28 multi-round-trip: asks for a confirmation, then writes, echoing the
  // requestState it got back (so that a test sees the server received its own value).
  const confirmation = z.object({ confirm: z.boolean() });
  mcp.registerTool('fs_write', { description: 'Write a file', ...path }, async ({ path: file }, ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', confirmation);
    if (answer === undefined) {
      return inputRequired({
        inputRequests: { confirm: inputRequired.elicit({ message: `Write ${file}?`, requestedSchema: confirmation }) },
        requestState: `${WRITE_STATE_PREFIX}${file}`,
      });
    }
    calls.push('fs_write');
    states.push(String(ctx.mcpReq.requestState()));
    return text(`fs_write ${file} (${answer.confirm ? 'confirmed' : 'declined'})`);
  });
  // A paginated search: each result carries the server's own `state` for the next page, a
  // state handle the default catalogue names (`handle_result`), bound to the caller by the guard.
  const search = { description: 'Search', inputSchema: z.object({ query: z.string(), state: z.string().optional() }) };
  mcp.registerTool('search_docs', search, async ({ query, state }) => {
    calls.push('search_docs');
    const page = state === undefined ? 1 : Number(state.split(':')[1]) + 1;
    return { ...text(`found ${query}, page ${page}`), structuredContent: { state: `cursor:${page}:${randomUUID()}` } };
  });
  for (const name of ['fs_delete', 'debug_eval']) {
    mcp.registerTool(name, { description: name, ...path }, async ({ path: file }) => {
      calls.push(name);
      return text(`${name} ${file}`);
    });
  }
  for (const name of ['summarize', 'review_changes', 'secret_prompt']) {
    mcp.registerPrompt(name, { description: name }, () => ({
      messages: [{ role: 'user', content: { type: 'text', text: name } }],
    }));
  }
  for (const uri of [VISIBLE_URI, HIDDEN_URI]) {
    mcp.registerResource(uri, uri, { mimeType: 'text/plain' }, async () => ({ contents: [{ uri, text: uri }] }));
  }
  return mcp;
}

/**
 * Serves MCP with the v2 SDK as its docs do: `createMcpHandler` over a factory that makes
 * a fresh `McpServer` per request, in both eras (2026-07-28, and 2025-era traffic through
 * the stateless legacy fallback), behind `toNodeHandler` on a loopback port. The factory
 * is wrapped in `guardFactory`; the bearer token becomes `authInfo`, unverified (the
 * warden verifies it).
 */
export async function startGuardedV2Server(
  warden: Warden,
  options: Partial<Omit<GuardOptions, 'warden'>> = {},
): Promise<GuardedV2Server> {
  const counters: Counters = { calls: [], aborted: [], states: [] };
  const errors: Error[] = [];
  const handler = createMcpHandler(
    guardFactory(() => buildServer(counters), { warden, server: SERVER, ...options }),
    {
      legacy: 'stateless',
      onerror: (error) => void errors.push(error),
    },
  );
  const serve = toNodeHandler(handler);
  const validHost = localhostHostValidation();
  const http = createServer((req, res) => {
    if (!validHost(req, res)) return;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const auth: AuthInfo | undefined =
      bearer === null ? undefined : { token: bearer[1] as string, clientId: 'test-client', scopes: [] };
    void serve(Object.assign(req, { auth }), res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    ...counters,
    errors,
    async stop() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A sessionful v2 server: one `McpServer` and one transport per MCP session. */
export interface GuardedV2SessionServer {
  readonly url: string;
  readonly calls: string[];
  /** Open MCP sessions by their `Mcp-Session-Id`. */
  readonly sessions: Map<string, NodeStreamableHTTPServerTransport>;
  stop(): Promise<void>;
}

/**
 * The v2 SDK's sessionful 2025-era wiring (what `isLegacyRequest` routes to next to a
 * strict modern endpoint): a `NodeStreamableHTTPServerTransport` per session, each wrapped
 * in `guardTransport` directly, with the v2 types.
 */
export async function startGuardedV2SessionServer(warden: Warden): Promise<GuardedV2SessionServer> {
  const counters: Counters = { calls: [], aborted: [], states: [] };
  const sessions = new Map<string, NodeStreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const auth: AuthInfo | undefined =
      bearer === null ? undefined : { token: bearer[1] as string, clientId: 'test-client', scopes: [] };
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
        const created: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          onsessioninitialized: (id) => void sessions.set(id, created),
        });
        created.onclose = () => void (created.sessionId !== undefined && sessions.delete(created.sessionId));
        await buildServer(counters).connect(guardTransport(created, { warden, server: SERVER }));
        transport = created;
      }
      await transport.handleRequest(Object.assign(req, { auth }), res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls: counters.calls,
    sessions,
    async stop() {
      for (const transport of sessions.values()) await transport.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The v2 client's ProtocolError (-32003) a refused request rejects with; fails the test if it succeeds. */
export async function v2RefusalOf(promise: Promise<unknown>): Promise<ProtocolError & { data: RefusalData }> {
  const err = await promise.then(
    () => expect.fail('the request was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  expect((err as ProtocolError).code).toBe(FORBIDDEN_CODE);
  return err as ProtocolError & { data: RefusalData };
}

/** The reason codes of a refusal, in order. */
export async function v2RefusalCodes(promise: Promise<unknown>): Promise<string[]> {
  return (await v2RefusalOf(promise)).data.reasons.map((r) => r.code);
}
