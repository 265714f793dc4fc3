import { afterAll, beforeAll, expect, it } from 'vitest';
import { RequestGate } from '../../src/proxy/gate.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { echoHandler, startStubUpstream, type StubUpstream } from '../helpers/stub-upstream.ts';

let upstream: StubUpstream;
let proxy: TestProxy;
const gate = new RequestGate();

beforeAll(async () => {
  upstream = await startStubUpstream();
  proxy = await startTestProxy(upstream.url, { more: { gate, upstreamProtocol: 'both' } });
});
afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

it('on shutdown lets a stream in flight finish and refuses new requests', async () => {
  const token = await proxy.token('alice', 'mcp:read');
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
  };
  const init = await fetch(proxy.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
  const session = init.headers.get('mcp-session-id')!;
  await init.text();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  upstream.handler = ({ body }, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': open\n\n');
    void released.then(() =>
      res.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id: (body as { id: number }).id, result: {} })}\n\n`),
    );
  };
  const inFlight = await fetch(proxy.url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  expect(gate.inFlight).toBe(1);
  const drained = gate.drain(5_000);
  const refused = await fetch(proxy.url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': session },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
  });
  expect(refused.status).toBe(503);
  release();
  expect(await inFlight.text()).toContain('"id":1');
  expect(await drained).toBe(true);
  upstream.handler = echoHandler;
});
