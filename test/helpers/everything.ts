import { spawn } from 'node:child_process';
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT } from './paths.ts';

const EVERYTHING = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;
const READY = /^warden-test: listening on (\d+)$/m;

/**
 * Preloaded into server-everything, which calls `app.listen(process.env.PORT)` on every
 * interface and logs the PORT it was given (useless with PORT=0). This binds it to
 * loopback, reports the port the kernel chose (no free-port race, no retry) and exits
 * when our stdin pipe closes, so a crashed test run leaves no orphan server behind.
 */
const PRELOAD = `
import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = Number(args[0]);
  if (args[0] !== '' && Number.isInteger(port) && typeof args[1] !== 'string') args.splice(0, 1, port, '127.0.0.1');
  this.once('listening', () => process.stderr.write('warden-test: listening on ' + this.address().port + '\\n'));
  return listen.apply(this, args);
};
process.stdin.on('end', () => process.exit(0)).resume();
`;

export interface Everything {
  /** The Streamable HTTP endpoint, `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `@modelcontextprotocol/server-everything streamableHttp` on a loopback port chosen by the kernel. */
export async function startEverything(timeoutMs = 15_000): Promise<Everything> {
  const child = spawn(
    process.execPath,
    [`--import=data:text/javascript,${encodeURIComponent(PRELOAD)}`, EVERYTHING, 'streamableHttp'],
    {
      cwd: ROOT,
      // Not process.env: server-everything's `get-env` tool hands its whole environment to any caller.
      env: { PORT: '0', NODE_ENV: 'test' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let output = ''; // the last 4 KiB of stdout and stderr, for error messages
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`server-everything ${why}; last output:\n${output}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4096);
      const ready = READY.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    child.once('error', (error) => fail(`failed to spawn: ${error.message}`));
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * One JSON-RPC message the tap forwarded; `method` is `(response)` for a client's answer
 * to a server request, `(invalid)` for an unparseable body.
 */
export interface TappedMessage {
  method: string;
  /** `params.name` of a `tools/call`. */
  name?: string;
}

export interface CountingTap {
  /** The tap's URL for the upstream's endpoint (same path as the upstream URL). */
  readonly url: string;
  readonly port: number;
  /** Messages per JSON-RPC method; a `tools/call` is also counted under `tools/call:<name>`. */
  counts(): Record<string, number>;
  /** Every forwarded JSON-RPC message, in order (batch elements one by one). */
  requests(): TappedMessage[];
  /** Every forwarded HTTP request (GET stream opens and DELETEs included). */
  http(): Array<{ method: string; path: string }>;
  reset(): void;
  stop(): Promise<void>;
}

export interface TapOptions {
  /**
   * Headers added to (or replacing) every forwarded request's, e.g. an Authorization for a
   * client that cannot send one.
   */
  headers?: Record<string, string>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's own, not the message's.
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);
function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP.has(name)));
}

function messagesOf(body: Buffer): TappedMessage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [{ method: '(invalid)' }];
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).map(
    (message: { method?: unknown; params?: { name?: unknown } }) => {
      const method = typeof message?.method === 'string' ? message.method : '(response)';
      const name =
        method === 'tools/call' && typeof message.params?.name === 'string' ? message.params.name : undefined;
      return name === undefined ? { method } : { method, name };
    },
  );
}

/**
 * A reverse proxy on loopback that forwards every request to `upstreamUrl`'s origin unchanged
 * (Host and Origin included, so DNS-rebinding checks still mean something) and streams the
 * response back as it arrives (SSE included), counting the JSON-RPC messages it forwarded.
 */
export async function startCountingTap(upstreamUrl: string, options: TapOptions = {}): Promise<CountingTap> {
  const upstream = new URL(upstreamUrl);
  const injected = Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const agent = new Agent({ keepAlive: true });
  let messages: TappedMessage[] = [];
  let exchanges: Array<{ method: string; path: string }> = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // Requests are buffered (to count them), responses are not.
      const body = Buffer.concat(chunks);
      exchanges.push({ method: req.method ?? 'GET', path: req.url ?? '/' });
      if (req.method === 'POST') messages.push(...messagesOf(body));
      const headers = { ...endToEnd(req.headers), ...injected };
      if (body.length > 0) headers['content-length'] = String(body.length);
      const out = request(
        {
          protocol: upstream.protocol,
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
          setHost: false,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, endToEnd(upRes.headers));
          res.flushHeaders(); // an SSE stream's headers must not wait for its first event
          upRes.pipe(res);
          upRes.on('error', () => res.destroy());
        },
      );
      out.on('error', (error) => {
        if (res.headersSent) res.destroy();
        else res.writeHead(502, { 'content-type': 'text/plain' }).end(`tap: upstream error: ${error.message}`);
      });
      // The client went away (closed an SSE stream): close the upstream side too.
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}${upstream.search}`,
    port,
    counts() {
      const counts: Record<string, number> = {};
      for (const { method, name } of messages) {
        counts[method] = (counts[method] ?? 0) + 1;
        if (name !== undefined) counts[`${method}:${name}`] = (counts[`${method}:${name}`] ?? 0) + 1;
      }
      return counts;
    },
    requests: () => messages.map((message) => ({ ...message })),
    http: () => exchanges.map((exchange) => ({ ...exchange })),
    reset() {
      messages = [];
      exchanges = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What a reader (`mcp:read`) may see and call of server-everything's tools under the fixture catalogue. */
export const EVERYTHING_READER_TOOLS: readonly string[] = [
  'echo',
  'get-annotated-message',
  'get-structured-content',
  'get-sum',
  'get-tiny-image',
  'simulate-research-query',
  'trigger-long-running-operation',
];
