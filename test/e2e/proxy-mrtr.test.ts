import { describe, expect, it } from 'vitest';
import { proxiedV2 } from '../helpers/proxied-v2.ts';
import { connectV2Client } from '../helpers/v2-client.ts';
import { V2_REQUEST_STATE_PREFIX } from '../helpers/v2-server.ts';

// MCP 2026-07-28 multi-round-trip requests through the proxy: an SDK v2 upstream whose tool
// answers InputRequiredResult with a requestState, behind a counting tap.
const MODERN = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'e2e-mrtr', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
};
const TOOL = 'simulate-research-query';

const env = proxiedV2();

interface Answer {
  readonly result?: { resultType?: string; requestState?: string; content?: { text: string }[] };
  readonly error?: { code: number; data?: { reasons?: { code: string }[] } };
}

async function call(token: string, extra: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(env.proxy.url, {
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
      params: { name: TOOL, arguments: { topic: 'tides' }, _meta: META, ...extra },
    }),
  });
  return (await response.json()) as Answer;
}

const retry = (requestState: unknown) => ({
  requestState,
  inputResponses: { clarify: { action: 'accept', content: { interpretation: 'oceanic' } } },
});
const codes = (answer: Answer) => (answer.error?.data?.reasons ?? []).map((r) => r.code);
const upstreamCalls = () => env.tap.counts()[`tools/call:${TOOL}`] ?? 0;

describe('MRTR requestState through the proxy (MCP 2026-07-28)', () => {
  it("completes the owner's round trip with the SDK v2 client; the upstream gets its own value back", async () => {
    const token = await env.proxy.token('alice', 'mcp:read');
    const alice = await connectV2Client(env.proxy.url, { token, capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    alice.client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(String(request.params.message));
      return { action: 'accept', content: { interpretation: 'oceanic' } };
    });
    const result = await alice.client.callTool({ name: TOOL, arguments: { topic: 'tides' } });
    expect(asked).toEqual(['Which tides?']);
    expect(JSON.stringify(result.content)).toContain(
      `Research Report: tides (oceanic); state ${V2_REQUEST_STATE_PREFIX}tides`,
    );
    expect(upstreamCalls()).toBe(2);
    const kinds = env.proxy.core.audit.saved.map((r) => r.kind);
    expect(kinds.filter((k) => k === 'request_state.sealed')).toHaveLength(1);
    await alice.close();
  });

  it('hands the client a sealed requestState, opaque and bound to the principal', async () => {
    const token = await env.proxy.token('alice', 'mcp:read');
    const first = await call(token);
    expect(first.result?.resultType).toBe('input_required');
    const sealed = first.result!.requestState!;
    expect(sealed).toMatch(/^mwr_/);
    expect(sealed).not.toContain(V2_REQUEST_STATE_PREFIX);
    expect(Buffer.from(sealed.split('.').slice(1).join(''), 'base64url').toString('latin1')).not.toContain('tides');
    const done = await call(token, retry(sealed));
    expect(done.result?.content?.[0]?.text).toContain(`state ${V2_REQUEST_STATE_PREFIX}tides`);
  });

  it('refuses a requestState replayed by another principal, audited, and never forwards it', async () => {
    const sealed = (await call(await env.proxy.token('alice', 'mcp:read'))).result!.requestState!;
    env.tap.reset();
    const bob = await call(await env.proxy.token('bob', 'mcp:read'), retry(sealed));
    expect(bob.error?.code).toBe(-32003);
    expect(codes(bob)).toEqual(['request_state_owner_mismatch']);
    expect(upstreamCalls()).toBe(0);
    const replay = env.proxy.core.audit.saved.find((r) => r.kind === 'request_state.owner_mismatch');
    expect(replay).toMatchObject({ principal: { sub: 'bob' }, method: 'tools/call', tool: TOOL, allow: false });
  });

  it('refuses a forged, altered or raw upstream requestState before it reaches the upstream', async () => {
    const token = await env.proxy.token('alice', 'mcp:read');
    const sealed = (await call(token)).result!.requestState!;
    env.tap.reset();
    const altered = sealed.slice(0, -2) + (sealed.endsWith('AA') ? 'BB' : 'AA');
    for (const state of [`${V2_REQUEST_STATE_PREFIX}tides`, altered, 'mwr_x.y.z.w.v', 42]) {
      const answer = await call(token, retry(state));
      expect(codes(answer), String(state)).toEqual(['request_state_invalid']);
    }
    expect(upstreamCalls()).toBe(0);
  });
});
