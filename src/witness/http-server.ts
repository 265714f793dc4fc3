import { hash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddCheckpointContext, addCheckpoint, type WitnessAnswer } from './add-checkpoint.ts';

/** How the witness's HTTP server is set up. */
export interface WitnessServerOptions {
  readonly context: AddCheckpointContext;
  /** The largest request body accepted, in bytes (default 64 KiB); larger is 413. */
  readonly bodyLimit?: number;
  /** Where a line goes for answers worth an operator's look: a log's inconsistency (409, 422), a failing store. */
  readonly log?: (line: string) => void;
}

/** The default body limit: a checkpoint, 63 proof lines and a hundred signatures fit in a fraction of it. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * The witness's HTTP interface (node:http: it is a few routes of text, and only
 * src/server/ and src/proxy/ use fastify), one prefix for submission and monitoring:
 *
 * - `POST /add-checkpoint`: c2sp.org/tlog-witness §add-checkpoint (src/witness/add-checkpoint.ts);
 * - `GET /<hex SHA-256 of the origin>/checkpoint`: §Monitor Retrieval Mechanism, the latest
 *   checkpoint cosigned for that origin with the log's signature and the cosignature, or 404;
 * - `GET /checkpoints[?prefix=<p>]`: an extension for auditors, every origin held (or those
 *   starting with `p`), as JSON `{"logs": [{"origin", "size", "checkpoint"}]}`;
 * - `GET /health`: `{"status": "OK" | "ERROR" | "NOT_READY", "store": {…}}`, 200 when OK, else 503.
 *
 * Anything else is 404, a known path with another method 405. Never calls `listen()`.
 */
export function createWitnessServer(options: WitnessServerOptions): Server {
  const { context } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const log = options.log ?? (() => {});
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log(`witness: ${req.method} ${req.url} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, 500, TEXT, 'internal_error: the witness failed to answer\n');
      else res.destroy();
    });
  });
  // A slow client must not hold a connection for long; keep-alive stays on (the spec asks for it).
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://witness.invalid');
    const path = url.pathname;
    if (path === '/add-checkpoint') {
      if (req.method !== 'POST') return notAllowed(res, 'POST');
      const body = await readBody(req, bodyLimit);
      if (body === undefined) {
        res.setHeader('connection', 'close');
        return send(res, 413, TEXT, `body_too_large: the body is larger than ${bodyLimit} bytes\n`);
      }
      const answer = await addCheckpoint(body, context);
      if (NOTEWORTHY.has(answer.status)) log(`witness: ${answer.status} ${answer.code} ${answer.origin ?? ''}`.trim());
      return sendAnswer(res, answer);
    }
    const monitored = MONITOR_PATH.exec(path);
    if (path === '/checkpoints' || path === '/health' || monitored) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notAllowed(res, 'GET, HEAD');
    }
    if (monitored) {
      const logs = await context.store.list();
      const entry = logs.find((e) => hash('sha256', e.origin, 'hex') === monitored[1]);
      if (!entry) return send(res, 404, TEXT, 'log_unknown: no checkpoint cosigned for that origin hash\n');
      return send(res, 200, TEXT, entry.checkpoint);
    }
    if (path === '/checkpoints') {
      const logs = await context.store.list(url.searchParams.get('prefix') ?? '');
      const body = { logs: logs.map(({ origin, size, checkpoint }) => ({ origin, size, checkpoint })) };
      return send(res, 200, JSON_TYPE, `${JSON.stringify(body)}\n`);
    }
    if (path === '/health') {
      const store = await context.store.status();
      return send(
        res,
        store.status === 'OK' ? 200 : 503,
        JSON_TYPE,
        `${JSON.stringify({ status: store.status, store })}\n`,
      );
    }
    return send(res, 404, TEXT, `not_found: no route ${path}\n`);
  }

  return server;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const MONITOR_PATH = /^\/([0-9a-f]{64})\/checkpoint$/;
/** Answers that may be evidence of a log's misbehaviour (the spec lets a witness log them), or a failing store. */
const NOTEWORTHY = new Set([409, 422, 503]);

function sendAnswer(res: ServerResponse, answer: WitnessAnswer): void {
  send(res, answer.status, answer.contentType, answer.body);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, TEXT, `method_not_allowed: use ${allow}\n`);
}

/** The body, or undefined past `limit` bytes (the rest is read and dropped, so the 413 reaches the client). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length <= limit) {
        chunks.push(chunk);
      } else {
        chunks.length = 0;
        resolve(undefined);
      }
    });
    req.on('end', () => resolve(length <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}
