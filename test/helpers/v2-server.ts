import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { localhostHostValidation, toNodeHandler, type NodeIncomingMessageLike } from '@modelcontextprotocol/node';
import {
  acceptedContent,
  createMcpHandler,
  inputRequired,
  McpServer,
  type AuthInfo,
  type CallToolResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';

/** The one resource the server lists; server-everything names its static resources the same way. */
export const V2_RESOURCE_URI = 'demo://resource/static/document/1';
/** How `simulate-research-query` begins the requestState it mints (then the topic). */
export const V2_REQUEST_STATE_PREFIX = 'v2-round-1:';
/** What `get-env` answers: a stand-in secret, so a leak through the proxy is visible in a test. */
export const V2_ENV_SECRET = 'WARDEN_TEST_SECRET=v2-server-env';

/** One HTTP request as the server received it, for tests that document the wire. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body of a POST (`undefined` for a body-less or unparseable one). */
  readonly body: unknown;
  /** The HTTP status and `content-type` the server answered with. */
  readonly status?: number;
  readonly contentType?: string;
}

/** How `long-stream` calls ended, counted by the handler itself. */
export interface LongStreamCounts {
  started: number;
  /** Ran their full `seconds` and returned a result. */
  finished: number;
  /** Stopped early because the request was cancelled or the client's connection closed. */
  aborted: number;
}

export interface V2ServerOptions {
  /**
   * The SDK's `createMcpHandler` legacy posture: `'stateless'` (the SDK default) also serves
   * 2025-era traffic (`initialize`, then claim-less POSTs) from a fresh instance per request;
   * `'reject'` is a modern-only endpoint that answers legacy requests with the
   * unsupported-protocol-version error.
   */
  legacy?: 'stateless' | 'reject';
  /** Modern-era response shaping (SDK option): `auto` upgrades to SSE on the first related message. */
  responseMode?: 'auto' | 'sse' | 'json';
  /** `long-stream`'s interval between notifications; default 250 ms. */
  tickMs?: number;
}

/** A v2 (MCP 2026-07-28) SDK server on loopback. */
export interface V2Server {
  /** The Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Names of the tools whose handler ran, in order. */
  readonly calls: string[];
  readonly longStream: LongStreamCounts;
  /** Every HTTP request received, in order. */
  received(): ReceivedRequest[];
  reset(): void;
  stop(): Promise<void>;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });

/** server-everything's names for the tools, prompt and resource the fixture policy catalogue knows. */
function buildServer(calls: string[], counts: LongStreamCounts, tickMs: number): McpServer {
  const mcp = new McpServer({ name: 'warden-v2-test', version: '1.0.0' });
  const echo = { description: 'Echoes back the input', inputSchema: z.object({ message: z.string() }) };
  mcp.registerTool('echo', echo, async ({ message }) => {
    calls.push('echo');
    return text(`Echo: ${message}`);
  });
  const sum = { description: 'Adds two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) };
  mcp.registerTool('get-sum', sum, async ({ a, b }) => {
    calls.push('get-sum');
    return text(`The sum of ${a} and ${b} is ${a + b}.`);
  });
  mcp.registerTool('get-env', { description: 'Returns the environment (a fixed stand-in)' }, async () => {
    calls.push('get-env');
    return text(V2_ENV_SECRET);
  });
  const stream = {
    description: 'Streams a notification every tick for `seconds`',
    inputSchema: z.object({ seconds: z.number().positive() }),
  };
  mcp.registerTool('long-stream', stream, async ({ seconds }, ctx) => {
    calls.push('long-stream');
    counts.started += 1;
    const ticks = Math.max(1, Math.ceil((seconds * 1000) / tickMs));
    for (let tick = 1; tick <= ticks; tick += 1) {
      if (!(await notifyTick(ctx, tick, ticks))) break;
      await sleep(tickMs, undefined, { signal: ctx.mcpReq.signal }).catch(() => undefined);
      if (ctx.mcpReq.signal.aborted) break;
    }
    if (ctx.mcpReq.signal.aborted) {
      counts.aborted += 1;
      return text('aborted');
    }
    counts.finished += 1;
    return text(`streamed ${ticks} ticks`);
  });
  // MCP 2026-07-28 multi-round-trip: asks which interpretation is meant, then answers with the
  // requestState it minted on the first round (so a test sees the upstream got its own value back).
  const research = {
    description: 'Asks for clarification, then reports',
    inputSchema: z.object({ topic: z.string() }),
  };
  const clarification = z.object({ interpretation: z.string() });
  mcp.registerTool('simulate-research-query', research, async ({ topic }, ctx) => {
    calls.push('simulate-research-query');
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'clarify', clarification);
    if (answer === undefined) {
      return inputRequired({
        inputRequests: {
          clarify: inputRequired.elicit({ message: `Which ${topic}?`, requestedSchema: clarification }),
        },
        requestState: `${V2_REQUEST_STATE_PREFIX}${topic}`,
      });
    }
    return text(`Research Report: ${topic} (${answer.interpretation}); state ${String(ctx.mcpReq.requestState())}`);
  });
  mcp.registerPrompt('simple-prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } }],
  }));
  mcp.registerResource('Static Document 1', V2_RESOURCE_URI, { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Static document 1.' }],
  }));
  return mcp;
}

/**
 * A progress notification when the caller asked for progress (a `progressToken`, which the SDK
 * client sends for an `onprogress` option), else a log message. The first one upgrades the
 * response to SSE. In the 2026-07-28 era the SDK drops a log message unless the request's
 * `_meta` names `io.modelcontextprotocol/logLevel`; without a progress token the call then
 * answers as plain JSON after `seconds`. `false` once the exchange is gone.
 */
async function notifyTick(ctx: ServerContext, progress: number, total: number): Promise<boolean> {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  const message = `tick ${progress}/${total}`;
  const notification =
    progressToken === undefined
      ? { method: 'notifications/message', params: { level: 'info', logger: 'long-stream', data: message } }
      : { method: 'notifications/progress', params: { progressToken, progress, total, message } };
  try {
    await ctx.mcpReq.notify(notification);
    return true;
  } catch {
    return false;
  }
}

/** Feeds the request body to the SDK adapter chunk by chunk while keeping a copy. */
function recording(req: IncomingMessage, chunks: Buffer[]): NodeIncomingMessageLike {
  return {
    method: req.method,
    url: req.url,
    headers: req.headers,
    async *[Symbol.asyncIterator]() {
      for await (const chunk of req) {
        chunks.push(chunk as Buffer);
        yield chunk;
      }
    },
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Completes `entry` with the body as read and the answer's status and type, when its head is written. */
function recordAnswer(res: ServerResponse, entry: Mutable<ReceivedRequest>, chunks: Buffer[]): void {
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    entry.body = parse(Buffer.concat(chunks));
    entry.status = status;
    const headers = rest.find((arg): arg is Record<string, string> => typeof arg === 'object' && arg !== null);
    const contentType = headers?.['content-type'] ?? res.getHeader('content-type');
    if (contentType !== undefined) entry.contentType = String(contentType);
    return writeHead(status, ...rest);
  }) as ServerResponse['writeHead'];
}

function parse(body: Buffer): unknown {
  try {
    return body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Serves MCP with the v2 TypeScript SDK in this process: `createMcpHandler` (a fresh
 * `McpServer` per request; `server/discover` and the 2026-07-28 per-request envelope are the
 * SDK's) behind `toNodeHandler` on a kernel-chosen loopback port, with the SDK's localhost
 * Host check. By default it speaks both eras: 2026-07-28 to a negotiating client and, through
 * the SDK's stateless legacy fallback, 2025-era `initialize` traffic (GET and DELETE answer 405:
 * the fallback keeps no sessions). `legacy: 'reject'` makes it modern-only. A bearer token is
 * passed through as `authInfo`, never verified.
 */
export async function startV2Server(options: V2ServerOptions = {}): Promise<V2Server> {
  const calls: string[] = [];
  const longStream: LongStreamCounts = { started: 0, finished: 0, aborted: 0 };
  let received: ReceivedRequest[] = [];
  const tickMs = options.tickMs ?? 250;
  const handler = createMcpHandler(() => buildServer(calls, longStream, tickMs), {
    legacy: options.legacy ?? 'stateless',
    responseMode: options.responseMode ?? 'auto',
  });
  const serve = toNodeHandler(handler);
  const validHost = localhostHostValidation();
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const entry: Mutable<ReceivedRequest> = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: undefined,
    };
    received.push(entry);
    recordAnswer(res, entry, chunks);
    if (!validHost(req, res)) return;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const request = recording(req, chunks);
    if (bearer !== null) {
      request.auth = { token: bearer[1] as string, clientId: 'test-client', scopes: [] } satisfies AuthInfo;
    }
    void serve(request, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    calls,
    longStream,
    received: () => received.map((entry) => ({ ...entry })),
    reset() {
      received = [];
      calls.length = 0;
      Object.assign(longStream, { started: 0, finished: 0, aborted: 0 });
    },
    stop() {
      stopping ??= (async () => {
        await handler.close();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
