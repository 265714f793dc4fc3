import { readFileSync } from 'node:fs';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SealedRecord } from '../../src/audit/chain.ts';
import { decide } from '../../src/decision/decide.ts';
import { createSession } from '../../src/decision/sessions.ts';
import { inProcessWarden } from '../../src/pep/in-process.ts';
import type { PolicyInput } from '../../src/policy/engine.ts';
import { guardTransport } from '../../src/sdk/guard.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { startTestService } from '../helpers/service.ts';
import { echoHandler, type StubUpstream, startStubUpstream } from '../helpers/stub-upstream.ts';
import { SERVER } from '../helpers/tokens.ts';

// Keys JavaScript reads as a prototype (`__proto__`, `prototype` inside `constructor`) are
// refused on every entry path, before a decision; `constructor` and `prototype` keys that
// reach no prototype are kept as they are, alike in the policy input, at the upstream and
// in the audit record (docs/security.md, docs/api.md).
const POISONED = '{"__proto__":{"admin":true},"path":"/srv/data/x"}';
const CONSTRUCTOR_PROTOTYPE = '{"constructor":{"prototype":{"admin":true}},"path":"/srv/data/x"}';
const HARMLESS = '{"constructor":"c","prototype":{"admin":true},"path":"/srv/data/x"}';

/** The request part of a policy input, as `buildPolicyInput` writes it. */
function requestOf(input: PolicyInput): { tool: string | null; arguments: unknown } {
  return input.request as { tool: string | null; arguments: unknown };
}

/** What the proxy answers: a JSON-RPC result or error. */
interface RpcBody {
  readonly result?: unknown;
  readonly error?: { readonly message: string; readonly data: { readonly reasons: readonly { code: string }[] } };
}

function decisions(records: readonly SealedRecord[]): SealedRecord[] {
  return records.filter((r) => r.kind === 'decision');
}

describe('the decision API (POST /v1/decide, POST /v1/sessions)', () => {
  it('refuses __proto__ and constructor.prototype anywhere in the body with 400 invalid_request', async () => {
    const s = await startTestService();
    const token = await s.token();
    const decideBody = (args: string) =>
      `{"token":"${token}","server":"${SERVER}",` +
      `"mcp":{"method":"tools/call","params":{"name":"fs_read","arguments":${args}}}}`;
    for (const payload of [
      decideBody(POISONED),
      decideBody(CONSTRUCTOR_PROTOTYPE),
      `{"server":"${SERVER}","token":"${token}","context":${POISONED}}`,
    ]) {
      const url = payload.includes('"mcp"') ? '/v1/decide' : '/v1/sessions';
      const res = await s.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().code, payload).toBe('invalid_request');
    }
    await s.app.close();
    const kinds = readFileSync(s.auditFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).kind);
    expect(kinds.filter((k) => k === 'decision' || k === 'session.created')).toEqual([]);
  });

  it('keeps constructor and prototype keys that reach no prototype: decided, and recorded as sent', async () => {
    const s = await startTestService();
    const token = await s.token();
    const payload =
      `{"token":"${token}","server":"${SERVER}",` +
      `"mcp":{"method":"tools/call","params":{"name":"fs_read","arguments":${HARMLESS}}}}`;
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(200);
    await s.app.close();
    // The last record before the close record app.close() writes.
    const [record, close] = readFileSync(s.auditFile, 'utf8')
      .trim()
      .split('\n')
      .slice(-2)
      .map((l) => JSON.parse(l));
    expect(close.kind).toBe('audit.chain_closed');
    expect(record).toMatchObject({ kind: 'decision', decision_id: res.json().decision_id });
    expect(JSON.stringify(record.input.arguments)).toBe(HARMLESS);
  });
});

describe('the proxy (bodies parsed by the strict parser)', () => {
  let upstream: StubUpstream;
  let proxy: TestProxy;
  let token: string;
  let session: string;

  beforeAll(async () => {
    upstream = await startStubUpstream();
    proxy = await startTestProxy(upstream.url, { more: { upstreamProtocol: 'both' } });
    token = await proxy.token('pia', 'mcp:read');
    const init = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    expect(init.status).toBe(200);
    session = init.headers.get('mcp-session-id')!;
  });
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });
  beforeEach(() => {
    upstream.seen.length = 0;
    upstream.handler = echoHandler;
  });

  async function post(
    body: string | object,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; json: RpcBody }> {
    const response = await fetch(proxy.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text === '' ? null : JSON.parse(text) };
  }

  const call = (id: number, args: string) =>
    `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":${args}}}`;

  it('refuses __proto__ and constructor.prototype with 400 ambiguous_message, never forwarded', async () => {
    const before = decisions(proxy.core.audit.saved).length;
    const bodies = [
      call(1, POISONED),
      call(2, CONSTRUCTOR_PROTOTYPE),
      '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","_meta":{"__proto__":{"admin":true}}}}',
      '{"jsonrpc":"2.0","id":4,"result":{"__proto__":{"admin":true}}}',
    ];
    for (const body of bodies) {
      const answer = await post(body, { 'mcp-session-id': session });
      expect(answer.status, body).toBe(400);
      expect(
        answer.json.error?.data.reasons.map((r) => r.code),
        body,
      ).toEqual(['ambiguous_message']);
    }
    expect((await post(call(1, POISONED), { 'mcp-session-id': session })).json.error?.message).toContain(
      "params.arguments: the key '__proto__' is refused",
    );
    expect(upstream.seen).toEqual([]);
    expect(decisions(proxy.core.audit.saved)).toHaveLength(before);
  });

  it('keeps other constructor/prototype keys alike for the policy, the upstream and the record', async () => {
    const engine = proxy.core.deps.policy.get();
    const spy = vi.spyOn(engine, 'decide');
    try {
      const answer = await post(call(5, HARMLESS), { 'mcp-session-id': session });
      expect(answer.status).toBe(200);
      expect(answer.json.result).toEqual({ echo: 'tools/call' });
      const input = spy.mock.calls.map(([i]) => requestOf(i)).find((r) => r.tool === 'echo');
      expect(JSON.stringify(input?.arguments)).toBe(HARMLESS);
    } finally {
      spy.mockRestore();
    }
    expect(upstream.seen).toHaveLength(1);
    expect(JSON.stringify((upstream.seen[0]!.body as { params: { arguments: unknown } }).params.arguments)).toBe(
      HARMLESS,
    );
    const record = decisions(proxy.core.audit.saved).at(-1)!;
    expect(record).toMatchObject({ tool: 'echo', allow: true });
    expect(JSON.stringify(record.input?.arguments)).toBe(HARMLESS);
  });
});

describe('the in-process PEP and the SDK guard (objects handed in by code)', () => {
  let core: TestCore;
  let token: string;
  const seen: unknown[] = [];
  let received: JSONRPCMessage[];
  let clientSide: InMemoryTransport;
  let server: Server;

  beforeAll(async () => {
    core = await createTestCore();
    token = await core.idp.mint({ roles: ['reader'] }, { subject: 'ines', expiresIn: 3600 });
    server = new Server({ name: 'files', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      seen.push(request.params.arguments);
      return { content: [{ type: 'text', text: 'read' }] };
    });
    let serverSide: InMemoryTransport;
    [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(
      guardTransport(serverSide, { server: SERVER, warden: inProcessWarden(core.deps, PEP), token: () => token }),
    );
    clientSide.onmessage = (m) => void received.push(m);
    await clientSide.start();
  });
  afterAll(async () => server?.close());
  beforeEach(() => {
    seen.length = 0;
    received = [];
  });

  /** A tools/call as a transport hands it over: parsed by JSON.parse, so `__proto__` is an own key. */
  const call = (id: number, args: string) =>
    JSON.parse(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"fs_read","arguments":${args}}}`);

  it('a JSON.parse-d __proto__ or constructor.prototype is denied invalid_request, audited, never run', async () => {
    for (const [id, args] of [
      [11, POISONED],
      [12, CONSTRUCTOR_PROTOTYPE],
    ] as const) {
      const before = decisions(core.audit.saved).length;
      await clientSide.send(call(id, args));
      await expect.poll(() => received.length).toBe(1);
      const answer = received.pop() as {
        id: number;
        error: { code: number; data: { reasons: { code: string; message: string }[]; decision_id: string } };
      };
      expect(answer).toMatchObject({ id, error: { code: -32003 } });
      expect(answer.error.data.reasons).toHaveLength(1);
      expect(answer.error.data.reasons[0]!.code).toBe('invalid_request');
      expect(answer.error.data.reasons[0]!.message).toMatch(
        /mcp\.params\.arguments(\.constructor)?: the key '(__proto__|prototype)'/,
      );
      const records = decisions(core.audit.saved);
      expect(records).toHaveLength(before + 1);
      // Refused before any policy ran: recorded with its names and why, and no arguments.
      expect(records.at(-1)).toMatchObject({
        decision_id: answer.error.data.decision_id,
        tool: 'fs_read',
        allow: false,
        reasons: [{ code: 'invalid_request' }],
        input: { arguments: null },
      });
    }
    expect(seen).toEqual([]);
  });

  it('createSession() refuses a context with a prototype key: invalid_request, and no session is stored', async () => {
    const contexts = [JSON.parse('{"__proto__":{"admin":true}}'), JSON.parse('{"constructor":{"prototype":{"a":1}}}')];
    for (const context of contexts) {
      const stored = core.audit.saved.filter((r) => r.kind === 'session.created').length;
      await expect(createSession(core.deps, { token, server: SERVER, context }, PEP)).rejects.toMatchObject({
        code: 'invalid_request',
        message: expect.stringMatching(/^context(\.constructor)?: the key '(__proto__|prototype)'/),
      });
      expect(core.audit.saved.filter((r) => r.kind === 'session.created').length).toBe(stored);
    }
    // A plain context is taken.
    await expect(
      createSession(core.deps, { token, server: SERVER, context: { ticket: 'T-1' } }, PEP),
    ).resolves.toMatchObject({ scope: expect.any(Array) });
  });

  it('decide() refuses objects whose prototype is not plain: a literal __proto__, a Date', async () => {
    const cases = [
      { args: { __proto__: { admin: true }, path: '/srv/data/x' }, path: 'mcp.params.arguments' },
      { args: { path: '/srv/data/x', when: new Date(0) }, path: 'mcp.params.arguments.when' },
    ];
    for (const { args, path } of cases) {
      const mcp = { method: 'tools/call', params: { name: 'fs_read', arguments: args } };
      const decision = await decide(core.deps, { token, server: SERVER, mcp }, PEP);
      expect(decision).toMatchObject({ allow: false, reasons: [{ code: 'invalid_request' }] });
      expect(decision.reasons[0]!.message).toContain(`${path}: an object of a class`);
      expect(decisions(core.audit.saved).at(-1)).toMatchObject({
        decision_id: decision.decision_id,
        allow: false,
        input: { arguments: null },
      });
    }
  });

  it('keeps other constructor/prototype keys alike for the policy, the tool and the record', async () => {
    const engine = core.deps.policy.get();
    const spy = vi.spyOn(engine, 'decide');
    try {
      await clientSide.send(call(13, HARMLESS));
      await expect.poll(() => received.length).toBe(1);
      expect(received[0]).toMatchObject({ id: 13, result: { content: [{ text: 'read' }] } });
      const input = spy.mock.calls.at(-1)?.[0];
      expect(input && JSON.stringify(requestOf(input).arguments)).toBe(HARMLESS);
    } finally {
      spy.mockRestore();
    }
    expect(seen.map((a) => JSON.stringify(a))).toEqual([HARMLESS]);
    const record = decisions(core.audit.saved).at(-1)!;
    expect(record).toMatchObject({ tool: 'fs_read', allow: true });
    expect(JSON.stringify(record.input?.arguments)).toBe(HARMLESS);
  });
});
