import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryApprovalStore } from '../../src/approval/memory-store.ts';
import { decideApproval, getApproval } from '../../src/decision/approvals.ts';
import type { Caller } from '../../src/decision/types.ts';
import { APPROVAL_INPUT_KEY } from '../../src/pep/url-elicitation.ts';
import { PAGE } from '../helpers/approvals.ts';
import { startCountingTap, type CountingTap } from '../helpers/everything.ts';
import { startTestProxy, type TestProxy } from '../helpers/proxy.ts';
import { connectV2Client } from '../helpers/v2-client.ts';
import { startV2Server, V2_ENV_SECRET, type V2Server } from '../helpers/v2-server.ts';

// Human approval in the MCP 2026-07-28 era, through the proxy: the destructive, admin-only
// get-env of an SDK v2 upstream (behind a counting tap) is gated; a parked call reaches a
// client that takes URL elicitation as an InputRequiredResult with one URL elicitation,
// another admin grants it, and the client's retry (its inputResponses) is allowed once.
const MODERN = '2026-07-28';
const TOOL = 'get-env';
const CONSOLE: Caller = { id: 'console', role: 'admin' };
const OBLIGATION = { approvers: { roles: ['admin'] }, reason: 'get-env reads the whole environment' };
const CAPS_META = 'io.modelcontextprotocol/clientCapabilities';
const URL_CAPABLE = { elicitation: { url: {} } };

let v2: V2Server;
let tap: CountingTap;
let proxy: TestProxy;

beforeAll(async () => {
  v2 = await startV2Server();
  tap = await startCountingTap(v2.url);
  proxy = await startTestProxy(tap.url, {
    approvals: new MemoryApprovalStore({ maxGrantMs: 600_000, retainMs: 3_600_000 }),
    gated: { [TOOL]: OBLIGATION },
  });
});
afterAll(async () => {
  await proxy?.stop();
  await tap?.stop();
  await v2?.stop();
});
beforeEach(() => tap.reset());

interface Answer {
  readonly status: number;
  readonly body: {
    id?: unknown;
    error?: { code: number; message: string; data?: Record<string, unknown> & { reasons?: { code: string }[] } };
    result?: Record<string, unknown> & {
      resultType?: string;
      inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
      _meta?: Record<string, { approval: { id: string; url: string | null } }>;
      content?: { type: string; text: string }[];
    };
  };
}

const admin = (sub: string) => proxy.token(sub, 'mcp:admin', { roles: ['admin'] });
const upstreamCalls = () => tap.counts()[`tools/call:${TOOL}`] ?? 0;

/** A raw 2026-07-28 tools/call of get-env, as a client sends it. */
async function callTool(
  token: string,
  capabilities: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Answer> {
  const response = await fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': TOOL,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: TOOL,
        arguments: {},
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'e2e-approvals-modern', version: '1.0.0' },
          [CAPS_META]: capabilities,
        },
        ...extra,
      },
    }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

/** The approval id of an InputRequiredResult with the warden's URL elicitation, checked. */
function elicited(answer: Answer): string {
  expect(answer.status).toBe(200);
  expect(answer.body.error).toBeUndefined();
  const result = answer.body.result!;
  expect(result.resultType).toBe('input_required');
  expect(Object.keys(result.inputRequests ?? {})).toEqual([APPROVAL_INPUT_KEY]);
  const meta = result._meta![APPROVAL_INPUT_KEY]!;
  const id = meta.approval.id;
  expect(id).toMatch(/^mwa_[A-Za-z0-9_-]{43}$/);
  expect(result.inputRequests![APPROVAL_INPUT_KEY]).toEqual({
    method: 'elicitation/create',
    params: { mode: 'url', url: `${PAGE}/${id}`, message: expect.stringContaining(OBLIGATION.reason) },
  });
  expect(meta).toMatchObject({
    reasons: [{ code: 'approval_required' }],
    decision_id: expect.any(String),
    approval: { id, url: `${PAGE}/${id}`, reason: OBLIGATION.reason },
  });
  return id;
}

const grant = async (id: string, approver = 'bob') =>
  decideApproval(proxy.core.deps, { id, token: await admin(approver), decision: 'grant' }, CONSOLE);

/** What a client sends back for the URL elicitation once the user opened the page. */
const accepted = { inputResponses: { [APPROVAL_INPUT_KEY]: { action: 'accept' } } };

describe('approvals through the proxy, MCP 2026-07-28', () => {
  it('parks the call as a URL elicitation, allows the approved retry once, and parks the same call again', async () => {
    const alice = await admin('alice');
    const id = elicited(await callTool(alice, URL_CAPABLE));
    expect(upstreamCalls()).toBe(0);
    expect(tap.requests()).toEqual([]);
    // The same call before the approval is the same request: no second one for the approver.
    expect(elicited(await callTool(alice, URL_CAPABLE))).toBe(id);
    expect(upstreamCalls()).toBe(0);

    // The requester cannot approve its own call; bob, another admin, can.
    await expect(
      decideApproval(proxy.core.deps, { id, token: alice, decision: 'grant' }, CONSOLE),
    ).rejects.toMatchObject({ code: 'approval_forbidden' });
    expect(await grant(id)).toMatchObject({ state: 'granted', decided_by: { sub: 'bob', caller: 'console' } });

    const done = await callTool(alice, URL_CAPABLE, accepted);
    expect(done.status).toBe(200);
    expect(done.body.error).toBeUndefined();
    expect(done.body.result?.resultType ?? 'complete').toBe('complete');
    expect(done.body.result?.content).toEqual([{ type: 'text', text: V2_ENV_SECRET }]);
    expect(upstreamCalls()).toBe(1);
    expect(v2.calls.filter((c) => c === TOOL)).toHaveLength(1);
    expect(await getApproval(proxy.core.deps, id)).toMatchObject({ state: 'consumed' });
    const consumed = proxy.core.audit.saved.filter(
      (r) => r.kind === 'approval.consumed' && (r.detail as { approval?: string }).approval === id,
    );
    expect(consumed).toHaveLength(1);
    expect(consumed[0]).toMatchObject({ principal: { sub: 'alice' }, session: null, allow: true });

    // The grant is used up: the same retry parks under a new request, and goes nowhere.
    const again = elicited(await callTool(alice, URL_CAPABLE, accepted));
    expect(again).not.toBe(id);
    expect(upstreamCalls()).toBe(1);
  });

  it('answers a client without URL elicitation -32003 naming the approval; its grant works for it too', async () => {
    const carol = await admin('carol');
    for (const capabilities of [{}, { elicitation: {} }, { elicitation: { form: {} } }]) {
      const denied = await callTool(carol, capabilities);
      expect(denied.status, JSON.stringify(capabilities)).toBe(200);
      expect(denied.body.result).toBeUndefined();
      expect(denied.body.error?.code).toBe(-32003);
      const data = denied.body.error!.data as { reasons: { code: string }[]; approval: { id: string; url: string } };
      expect(data.reasons.map((r) => r.code)).toEqual(['approval_required']);
      expect(data.approval).toMatchObject({ id: expect.stringMatching(/^mwa_/), reason: OBLIGATION.reason });
      expect(data.approval.url).toBe(`${PAGE}/${data.approval.id}`);
      expect(data).not.toHaveProperty('elicitations');
    }
    expect(upstreamCalls()).toBe(0);
    const id = ((await callTool(carol, {})).body.error!.data as { approval: { id: string } }).approval.id;
    await grant(id);
    // The capability is not part of the call: the grant covers the retry of a client that has none.
    const done = await callTool(carol, {});
    expect(done.body.result?.content).toEqual([{ type: 'text', text: V2_ENV_SECRET }]);
    expect(upstreamCalls()).toBe(1);
  });

  it("does not let another principal's retry use the grant", async () => {
    const dora = await admin('dora');
    const id = elicited(await callTool(dora, URL_CAPABLE));
    await grant(id);
    const eve = await admin('eve');
    expect(elicited(await callTool(eve, URL_CAPABLE, accepted))).not.toBe(id);
    expect(upstreamCalls()).toBe(0);
    expect(await getApproval(proxy.core.deps, id)).toMatchObject({ state: 'granted' });
  });

  it("the SDK v2 client's URL elicitation handler gets the link; granted there, the call completes", async () => {
    const frank = await connectV2Client(proxy.url, { token: await admin('frank'), capabilities: URL_CAPABLE });
    expect(frank.protocolVersion).toBe(MODERN);
    const seen: { mode: unknown; url: string; message: unknown }[] = [];
    frank.client.setRequestHandler('elicitation/create', async (request) => {
      const params = request.params as { mode?: unknown; url: string; message: unknown };
      seen.push({ mode: params.mode, url: params.url, message: params.message });
      // What the user does on the page: an approver grants the request the link names.
      await grant(params.url.slice(`${PAGE}/`.length), 'grace');
      return { action: 'accept' };
    });
    tap.reset();
    const result = await frank.client.callTool({ name: TOOL, arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: V2_ENV_SECRET }]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ mode: 'url', url: expect.stringMatching(new RegExp(`^${PAGE}/mwa_`)) });
    expect(String(seen[0]!.message)).toContain(OBLIGATION.reason);
    expect(upstreamCalls()).toBe(1);
    const id = seen[0]!.url.slice(`${PAGE}/`.length);
    expect(await getApproval(proxy.core.deps, id)).toMatchObject({
      state: 'consumed',
      owner: { sub: 'frank' },
      decided_by: { sub: 'grace' },
    });
    await frank.close();
  });
});
