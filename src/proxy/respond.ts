import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FastifyReply } from 'fastify';
import type { ResponseScreen } from './response-screen.ts';

/** A response the proxy writes itself, without asking the upstream. */
export interface OwnAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON value, or undefined for an empty body (202). */
  readonly body?: unknown;
}

export function sendOwn(reply: FastifyReply, answer: OwnAnswer): FastifyReply {
  void reply.code(answer.status).headers(answer.headers ?? {});
  if (answer.body === undefined) return reply.send();
  return reply.type('application/json').send(JSON.stringify(answer.body));
}

/** How {@link relay} passes one upstream answer on. */
export interface RelayOptions {
  /** The headers the client gets. */
  readonly headers: Record<string, string>;
  readonly screen: ResponseScreen;
  /** The proxy's own answers for the denied messages of a batch. */
  readonly ownMessages: readonly unknown[];
  /** Supervises an open stream: calls `cut` when its authority ends; returns the release. */
  readonly watch: (cut: () => void) => () => void;
}

/**
 * Writes the upstream's answer to the client. Bytes pass through as they come (an SSE
 * stream is never buffered); every message is screened (list answers filtered, stray
 * list answers withheld), and the proxy's own answers for denied messages of a batch
 * are added (as first events of a stream, or merged into a JSON array). A stream is
 * supervised while open (`watch`): it is cut when the authority it was opened under ends.
 */
export async function relay(
  reply: FastifyReply,
  response: Dispatcher.ResponseData,
  { headers, screen, ownMessages, watch }: RelayOptions,
): Promise<void> {
  const type = String(response.headers['content-type'] ?? '');
  const res: ServerResponse = reply.raw;
  reply.hijack();
  // The client went away: stop reading the upstream (closing the stream cancels the request).
  res.once('close', () => {
    if (!res.writableFinished) response.body.destroy();
  });
  if (ownMessages.length > 0 && response.statusCode === 202) {
    // Only notifications went upstream; the denied requests still need their answers.
    await response.body.dump();
    res.writeHead(200, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(ownMessages));
    return;
  }
  if (type.startsWith('application/json')) {
    const text = await response.body.text();
    const body = mergeJson(text.trim() === '' ? text : await screen.screenJson(text), ownMessages);
    res.writeHead(response.statusCode, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
    return;
  }
  if (!type.startsWith('text/event-stream')) {
    // A single JSON answer (or an empty one): read it whole and write it in one go.
    const body = Buffer.from(await response.body.arrayBuffer());
    res.writeHead(response.statusCode, { ...headers, 'content-length': String(body.length) });
    res.end(body);
    return;
  }
  res.writeHead(response.statusCode, headers);
  for (const message of ownMessages) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  const unwatch = watch(() => {
    response.body.destroy();
    res.destroy();
  });
  try {
    await relayStream(screened(response.body, screen), res);
  } finally {
    unwatch();
  }
}

function screened(body: Readable, screen: ResponseScreen): Readable {
  const transform = screen.sseTransform();
  body.once('error', (err) => transform.destroy(err));
  return body.pipe(transform);
}

/**
 * Streams an upstream body to the client as it comes, with backpressure. Writes of one
 * tick are corked into one socket write (an event and the end of the stream often come
 * together). Plain listeners, not `stream.pipeline`: it costs an AbortController and a
 * DOMException per stream, a measurable share of the proxy's CPU per call.
 */
export function relayStream(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    let corked = false;
    const uncork = () => {
      corked = false;
      res.uncork();
    };
    body.on('data', (chunk: Buffer) => {
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(uncork);
      }
      if (!res.write(chunk)) body.pause();
    });
    res.on('drain', () => body.resume());
    body.once('end', () => {
      res.end();
      resolve();
    });
    body.once('error', () => {
      res.destroy();
      resolve();
    });
    res.once('close', () => {
      body.destroy();
      resolve();
    });
  });
}

function mergeJson(text: string, ownMessages: readonly unknown[]): string {
  if (ownMessages.length === 0) return text;
  const parsed: unknown = text.trim() === '' ? [] : JSON.parse(text);
  return JSON.stringify([...ownMessages, ...(Array.isArray(parsed) ? parsed : [parsed])]);
}
