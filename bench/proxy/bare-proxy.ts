// A bare reverse proxy for the MCP endpoint: the reference bench/proxy.ts measures
// mcp-warden against. It does the proxy's HTTP work and nothing else: the body read
// whole, the request sent with the same Upstream as src/proxy (undici Pool, keep-alive,
// headersTimeout, bodyTimeout 0, the same forwarded request headers), the answer relayed
// the way src/proxy/respond.ts relays it (a JSON answer read whole and written once, an
// SSE stream passed through with plain listeners and corked writes). No authorization:
// no decisions, sessions, audit, origin checks, token or protocol parsing.
//
// One difference from the warden proxy besides those: this is node:http's createServer,
// not fastify, so fastify's routing, hooks and reply machinery count in mcp-warden's share.
//
//   node bench/proxy/bare-proxy.ts --upstream http://127.0.0.1:PORT/mcp [--host 127.0.0.1] [--port 0] [--path /mcp]
//
// Prints `bare proxy listening on <url>` once listening; SIGTERM/SIGINT close it and exit 0.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { HEADER } from '../../src/proxy/protocol.ts';
import { relayStream } from '../../src/proxy/respond.ts';
import { clientHeaders, Upstream } from '../../src/proxy/upstream.ts';

const { values: opts } = parseArgs({
  options: {
    upstream: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    path: { type: 'string', default: '/mcp' },
  },
  strict: true,
});
if (opts.upstream === undefined) {
  console.error('bare-proxy: --upstream <url> is required');
  process.exit(2);
}

// The defaults of proxy.upstream and proxy.body_limit_bytes in src/config/proxy.ts.
const upstream = new Upstream({ url: opts.upstream, headers: {}, timeoutMs: 30_000, connections: 64 });
const BODY_LIMIT = 1024 * 1024;
const METHODS: ReadonlySet<string> = new Set(['POST', 'GET', 'DELETE']);

const server = createServer((req, res) => {
  const method = req.method ?? '';
  if (req.url?.split('?')[0] !== opts.path) return answer(res, 404);
  if (!METHODS.has(method)) return answer(res, 405, { allow: 'POST, GET, DELETE' });
  if (method !== 'POST') return void forward(req, res, method as 'GET' | 'DELETE');
  // As the warden proxy's body parser does: the whole body as one Buffer.
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      answer(res, 413);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.once('end', () => {
    if (!res.headersSent) void forward(req, res, 'POST', chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
});
// Fastify's default, so a client idle between benchmark phases keeps its connection as it does with the warden proxy.
server.keepAliveTimeout = 72_000;

async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  method: 'POST' | 'GET' | 'DELETE',
  body?: Buffer,
): Promise<void> {
  const session = req.headers[HEADER.sessionId];
  let response: Awaited<ReturnType<typeof upstream.send>>;
  try {
    response = await upstream.send(method, req.headers, typeof session === 'string' ? session : null, body);
  } catch {
    if (res.headersSent) res.destroy();
    else answer(res, 502);
    return;
  }
  // The upstream's session id goes back unchanged (the warden proxy puts its own there).
  const headers = clientHeaders(response.headers);
  const upstreamSession = response.headers[HEADER.sessionId];
  if (typeof upstreamSession === 'string') headers[HEADER.sessionId] = upstreamSession;
  // The client went away: stop reading the upstream.
  res.once('close', () => {
    if (!res.writableFinished) response.body.destroy();
  });
  if (!String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    // A single JSON answer (or an empty one): read it whole and write it in one go.
    const whole = Buffer.from(await response.body.arrayBuffer());
    res.writeHead(response.statusCode, { ...headers, 'content-length': String(whole.length) });
    res.end(whole);
    return;
  }
  res.writeHead(response.statusCode, headers);
  await relayStream(response.body, res);
}

function answer(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-length': '0' });
  res.end();
}

server.listen(Number(opts.port), opts.host, () => {
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  console.log(`bare proxy listening on http://${host}:${port}${opts.path} (upstream ${opts.upstream})`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // Open SSE streams and idle keep-alive connections would hold close() open.
    server.close();
    server.closeAllConnections();
    void upstream.close().finally(() => process.exit(0));
  });
}
