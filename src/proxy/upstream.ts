import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { eraOf } from '../pep/era.ts';

/** Client headers an upstream MCP server needs; everything else (Authorization first) stays here. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'content-type',
  'mcp-protocol-version',
  'last-event-id',
  'mcp-method',
  'mcp-name',
  'user-agent',
];

/** Upstream response headers the client sees; the session id is the proxy's to set. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'mcp-protocol-version',
  'cache-control',
  'x-accel-buffering',
  'allow',
];

export interface UpstreamOptions {
  readonly url: string;
  /** Credentials and fixed headers for the upstream (configured, never the client's). */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly connections: number;
  /** The header that carries the identity assertion of each request's principal, when the upstream takes one. */
  readonly identityHeader?: string | undefined;
}

/** The one upstream MCP server, over a keep-alive connection pool. */
export class Upstream {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #timeoutMs: number;
  /** The header of the identity assertion; undefined: the upstream takes none. */
  readonly identityHeader: string | undefined;

  constructor(options: UpstreamOptions) {
    const url = new URL(options.url);
    this.#pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 });
    this.#path = `${url.pathname}${url.search}`;
    this.#headers = options.headers;
    this.#timeoutMs = options.timeoutMs;
    this.identityHeader = options.identityHeader?.toLowerCase();
  }

  /**
   * Sends one request; the body of the answer streams (SSE is never buffered here).
   * `identity` is the assertion of the request's principal, sent in the identity header.
   */
  send(
    method: 'POST' | 'GET' | 'DELETE',
    client: IncomingHttpHeaders,
    upstreamSession: string | null,
    body?: Buffer,
    identity?: string,
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = {};
    // MCP 2026-07-28 has no stream resumption: a Last-Event-ID there would replay another stream's events.
    const modern = eraOf(single(client['mcp-protocol-version'])) === 'modern';
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = client[name];
      if (typeof value === 'string' && !(modern && name === 'last-event-id')) headers[name] = value;
    }
    for (const [name, value] of Object.entries(client)) {
      // Custom parameter headers of MCP 2026-07-28 tools: forwarded unchanged for the upstream to check.
      if (name.startsWith('mcp-param-') && typeof value === 'string') headers[name] = value;
    }
    if (upstreamSession !== null) headers['mcp-session-id'] = upstreamSession;
    Object.assign(headers, this.#headers);
    if (this.identityHeader !== undefined && identity !== undefined) headers[this.identityHeader] = identity;
    return this.#pool.request({
      path: this.#path,
      method,
      headers,
      body: body ?? null,
      headersTimeout: this.#timeoutMs,
      // A stream may stay quiet for long; its end is the upstream's or the client's to decide.
      bodyTimeout: 0,
    });
  }

  /** Lets requests in flight finish for up to `graceMs`, then cuts what is left (open streams). */
  async close(graceMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => void this.#pool.destroy().then(resolve, resolve), graceMs);
    });
    await Promise.race([this.#pool.close(), cut]);
    clearTimeout(timer);
  }
}

/** The upstream's response headers the client may see. */
export function clientHeaders(upstream: Dispatcher.ResponseData['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
