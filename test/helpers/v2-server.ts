import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { localhostHostValidation, toNodeHandler, type NodeIncomingMessageLike } from '@modelcontextprotocol/node';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  inputRequired,
  McpServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
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
  /**
   * Also serve the 2026-07-28 tasks extension ({@link TASKS_EXTENSION}): `V2_TASK_TOOL`
   * answers with a task, driven by `tasks/get`, `tasks/update` and `tasks/cancel`. Off by
   * default, so that the other tests see the catalogue and discovery they expect.
   */
  tasks?: boolean;
}

/** The MCP tasks extension of 2026-07-28 (modelcontextprotocol/ext-tasks, specification/draft/tasks.md). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** The tool that answers with a task: server-everything's name, so that the fixture catalogue allows it. */
export const V2_TASK_TOOL = 'trigger-long-running-operation';
/** The key of the one input request a task asks for (`inputRequests`), answered by `tasks/update`. */
export const V2_TASK_INPUT_KEY = 'confirm';

type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

/** A task as the upstream keeps it: the extension's `Task` with its status-specific fields (`DetailedTask`). */
interface V2Task {
  readonly taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  readonly createdAt: string;
  lastUpdatedAt: string;
  readonly ttlMs: number | null;
  readonly pollIntervalMs: number;
  inputRequests?: Record<string, unknown>;
  result?: CallToolResult;
}

/** One `tasks/*` request the upstream served, as its handler saw it. */
export interface TaskCall {
  readonly method: 'tasks/get' | 'tasks/update' | 'tasks/cancel';
  readonly taskId: string;
}

/** A v2 (MCP 2026-07-28) SDK server on loopback. */
export interface V2Server {
  /** The Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Names of the tools whose handler ran, in order. */
  readonly calls: string[];
  readonly longStream: LongStreamCounts;
  /** The `tasks/*` requests its handlers served (with `tasks: true`), in order. */
  readonly taskCalls: TaskCall[];
  /** Every HTTP request received, in order. */
  received(): ReceivedRequest[];
  reset(): void;
  stop(): Promise<void>;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });

/** What one `McpServer` instance (made per request) shares with the others of the server. */
interface Shared {
  readonly calls: string[];
  readonly counts: LongStreamCounts;
  readonly tickMs: number;
  /** The task store, when the tasks extension is served. */
  readonly tasks: Map<string, V2Task> | null;
  readonly taskCalls: TaskCall[];
}

/** server-everything's names for the tools, prompt and resource the fixture policy catalogue knows. */
function buildServer({ calls, counts, tickMs, tasks, taskCalls }: Shared): McpServer {
  const mcp = new McpServer(
    { name: 'warden-v2-test', version: '1.0.0' },
    tasks === null ? {} : { capabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );
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
  if (tasks !== null) serveTasks(mcp, tasks, taskCalls, calls);
  mcp.registerPrompt('simple-prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt without arguments.' } }],
  }));
  mcp.registerResource('Static Document 1', V2_RESOURCE_URI, { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Static document 1.' }],
  }));
  return mcp;
}

const TaskIdParams = z.object({ taskId: z.string() });
const UpdateTaskParams = z.object({ taskId: z.string(), inputResponses: z.record(z.string(), z.unknown()).optional() });
const Confirmation = z.object({ proceed: z.boolean() });

/**
 * The tasks extension, hand-rolled (the SDK has no tasks runtime for 2026-07-28):
 * `V2_TASK_TOOL` answers `resultType: "task"` with a new task (`CreateTaskResult`, the
 * seed state `working`); the job then needs a confirmation, so the task is at once
 * `input_required` with one elicitation under `V2_TASK_INPUT_KEY`. `tasks/update`
 * answering it completes the task (or cancels it, declined); `tasks/cancel` cancels a
 * task that is not terminal. Unknown task ids are -32602, as the extension says; a
 * request that did not declare the extension is -32021.
 */
function serveTasks(mcp: McpServer, tasks: Map<string, V2Task>, taskCalls: TaskCall[], calls: string[]): void {
  const job = { description: 'Starts a job that runs as a task', inputSchema: z.object({ label: z.string() }) };
  mcp.registerTool(V2_TASK_TOOL, job, async ({ label }, ctx) => {
    calls.push(V2_TASK_TOOL);
    requireTasksExtension(ctx);
    const now = new Date().toISOString();
    const task: V2Task = {
      taskId: randomUUID(),
      status: 'working',
      statusMessage: `job ${label} started`,
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: 60_000,
      pollIntervalMs: 100,
    };
    const created = { resultType: 'task', ...task };
    // Durably created before the answer (the extension's MUST); then it waits for confirmation.
    tasks.set(task.taskId, {
      ...task,
      status: 'input_required',
      statusMessage: `job ${label} waits for confirmation`,
      inputRequests: {
        [V2_TASK_INPUT_KEY]: {
          method: 'elicitation/create',
          params: {
            mode: 'form',
            message: `Run job ${label}?`,
            requestedSchema: { type: 'object', properties: { proceed: { type: 'boolean' } }, required: ['proceed'] },
          },
        },
      },
    });
    // The SDK passes a handler's non-complete resultType of tools/call through unchanged
    // (adding `content: []`, as to any tool result without it).
    return created as unknown as CallToolResult;
  });
  const known = (method: TaskCall['method'], taskId: string, ctx: ServerContext): V2Task => {
    requireTasksExtension(ctx);
    taskCalls.push({ method, taskId });
    const task = tasks.get(taskId);
    if (task === undefined)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Failed to retrieve task: Task not found');
    return task;
  };
  mcp.server.setRequestHandler('tasks/get', { params: TaskIdParams }, async ({ taskId }, ctx) => ({
    resultType: 'complete',
    ...known('tasks/get', taskId, ctx),
  }));
  mcp.server.setRequestHandler('tasks/update', { params: UpdateTaskParams }, async (params, ctx) => {
    const task = known('tasks/update', params.taskId, ctx);
    // The SDK lifts a request's inputResponses out of the params a handler sees.
    const responses = params.inputResponses ?? ctx.mcpReq.inputResponses ?? {};
    const answer = responses[V2_TASK_INPUT_KEY] as { action?: unknown; content?: unknown } | undefined;
    // Responses to keys that are not outstanding are ignored, as the extension says.
    if (task.status === 'input_required' && answer !== undefined) {
      const confirmed = answer.action === 'accept' && Confirmation.safeParse(answer.content).data?.proceed === true;
      delete task.inputRequests;
      task.lastUpdatedAt = new Date().toISOString();
      if (confirmed) {
        task.status = 'completed';
        task.statusMessage = 'job done';
        task.result = { ...text(`job ${task.taskId} done`), isError: false };
      } else {
        task.status = 'cancelled';
        task.statusMessage = 'job declined';
      }
    }
    return { resultType: 'complete' };
  });
  mcp.server.setRequestHandler('tasks/cancel', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    const task = known('tasks/cancel', taskId, ctx);
    if (task.status === 'working' || task.status === 'input_required') {
      delete task.inputRequests;
      task.status = 'cancelled';
      task.statusMessage = 'job cancelled';
      task.lastUpdatedAt = new Date().toISOString();
    }
    return { resultType: 'complete' };
  });
}

/** A task goes only to a client that declared the extension in this request's capabilities. */
function requireTasksExtension(ctx: ServerContext): void {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
  if (capabilities?.extensions?.[TASKS_EXTENSION] === undefined) {
    throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });
  }
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
  const tasks = new Map<string, V2Task>();
  const taskCalls: TaskCall[] = [];
  const shared: Shared = { calls, counts: longStream, tickMs, tasks: options.tasks === true ? tasks : null, taskCalls };
  const handler = createMcpHandler(() => buildServer(shared), {
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
    taskCalls,
    received: () => received.map((entry) => ({ ...entry })),
    reset() {
      received = [];
      calls.length = 0;
      taskCalls.length = 0;
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
