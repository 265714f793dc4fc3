import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** How the stub answers one request; the default echoes each JSON-RPC request as a result. */
export type StubHandler = (seen: SeenRequest, res: ServerResponse) => void;

export interface StubUpstream {
  readonly url: string;
  readonly seen: SeenRequest[];
  handler: StubHandler;
  stop(): Promise<void>;
}

/** Answers every request in a body with `{result: {echo: <method>}}`, as JSON. */
export const echoHandler: StubHandler = ({ body }, res) => {
  // A request without a body (a GET, the proxy's start-up check) holds no message.
  const messages = (Array.isArray(body) ? body : body === undefined ? [] : [body]) as {
    id?: unknown;
    method?: string;
  }[];
  const answers = messages
    .filter((m) => m.id !== undefined && m.method !== undefined)
    .map((m) => ({ jsonrpc: '2.0', id: m.id, result: { echo: m.method } }));
  if (answers.length === 0) return void res.writeHead(202).end();
  res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'upstream-session-1' });
  res.end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
};

/** A minimal upstream on loopback that records what reached it (headers and parsed body). */
export async function startStubUpstream(handler: StubHandler = echoHandler): Promise<StubUpstream> {
  const seen: SeenRequest[] = [];
  const stub = {
    url: '',
    seen,
    handler,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request = {
        method: req.method ?? 'GET',
        headers: req.headers,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      };
      seen.push(request);
      stub.handler(request, res);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return stub;
}
