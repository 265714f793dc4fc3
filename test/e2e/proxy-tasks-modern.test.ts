import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { revokePrincipal } from '../../src/decision/revocations.ts';
import { boundStateHash } from '../../src/session/ids.ts';
import { RESOURCE } from '../helpers/proxy.ts';
import { proxiedV2 } from '../helpers/proxied-v2.ts';
import { connectV2Client, type V2Client } from '../helpers/v2-client.ts';
import { TASKS_EXTENSION, V2_TASK_INPUT_KEY, V2_TASK_TOOL } from '../helpers/v2-server.ts';

// The MCP 2026-07-28 tasks extension (io.modelcontextprotocol/tasks) through the proxy: an
// SDK v2 upstream that serves it by hand (the SDK has no tasks runtime) behind a counting
// tap, and the SDK v2 client, which sends tasks/get, tasks/update and tasks/cancel with
// `Mcp-Name` set to `params.taskId`. There is no session in this era: a task is bound to
// its principal only, and lives until the longest session TTL, its revocation, or its
// principal's.
const MODERN = '2026-07-28';
const ADMIN = { id: 'ops', role: 'admin' } as const;
/** What the client declares on every request: the tasks extension (a task is only returned to a declaring client). */
const CAPABILITIES = { extensions: { [TASKS_EXTENSION]: {} } };
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'e2e-tasks-modern', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': CAPABILITIES,
};

// The extension's wire shapes (ext-tasks schema/draft/schema.ts): CreateTaskResult is
// `Result & Task & {resultType: "task"}`, flat; tasks/get answers a DetailedTask with
// `resultType: "complete"`; tasks/update and tasks/cancel an empty acknowledgement.
const TaskShape = z.looseObject({
  taskId: z.string(),
  status: z.enum(['working', 'input_required', 'completed', 'failed', 'cancelled']),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  ttlMs: z.number().nullable(),
});
const DetailedTask = z.looseObject({
  ...TaskShape.shape,
  inputRequests: z.record(z.string(), z.unknown()).optional(),
  result: z
    .looseObject({ content: z.array(z.looseObject({ type: z.string(), text: z.string().optional() })) })
    .optional(),
});
const Ack = z.looseObject({});

const env = proxiedV2({ tasks: true });

/** The token each connected client sends. */
const tokens = new WeakMap<V2Client, string>();

async function connect(sub: string): Promise<V2Client> {
  const token = await env.proxy.token(sub, 'mcp:read');
  const client = await connectV2Client(env.proxy.url, { token, capabilities: CAPABILITIES });
  expect(client.protocolVersion).toBe(MODERN);
  tokens.set(client, token);
  return client;
}

/**
 * A task-returning tools/call with the client's token, on the wire as the SDK sends a call
 * (the SDK v2 client rejects a `resultType: "task"` result, through `request()` too, so
 * this one is raw). `url` defaults to the proxy's.
 */
async function startTask(client: V2Client | null, label = 'nightly', url = env.proxy.url): Promise<string> {
  const answer = await post(
    client === null ? undefined : tokens.get(client),
    'tools/call',
    { name: V2_TASK_TOOL, arguments: { label } },
    { 'mcp-name': V2_TASK_TOOL },
    url,
  );
  expect(answer.status).toBe(200);
  const created = TaskShape.extend({ resultType: z.literal('task') }).parse(answer.body.result);
  expect(created.status).toBe('working');
  return created.taskId;
}

const getTask = (client: V2Client, taskId: string) =>
  client.client.request({ method: 'tasks/get', params: { taskId } }, DetailedTask);
const updateTask = (client: V2Client, taskId: string) =>
  client.client.request(
    {
      method: 'tasks/update',
      params: { taskId, inputResponses: { [V2_TASK_INPUT_KEY]: { action: 'accept', content: { proceed: true } } } },
    },
    Ack,
  );
const cancelTask = (client: V2Client, taskId: string) =>
  client.client.request({ method: 'tasks/cancel', params: { taskId } }, Ack);

/** The reason codes of a -32003 refusal. */
async function refusal(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(
    () => expect.unreachable('the request was allowed'),
    (e: unknown) => e as { code?: number; data?: { reasons?: { code: string }[] } },
  );
  expect(err.code).toBe(-32003);
  return (err.data?.reasons ?? []).map((r) => r.code);
}

interface Answer {
  readonly status: number;
  readonly body: {
    error?: { code: number; message: string; data?: { reasons?: { code: string }[] } };
    result?: unknown;
  };
}

/**
 * One raw modern POST (the `_meta` envelope added; `Mcp-Name` as given, so also what a
 * conforming client never sends), to the proxy unless `url` says otherwise.
 */
async function post(
  token: string | undefined,
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string>,
  url = env.proxy.url,
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method, params: { ...params, _meta: META } }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

const codes = (answer: Answer) => (answer.body.error?.data?.reasons ?? []).map((r) => r.code);
const TASK_METHODS = ['tasks/get', 'tasks/update', 'tasks/cancel'] as const;
/** How many tasks/* requests reached the upstream (through the tap). */
const upstreamTaskCalls = () => TASK_METHODS.map((m) => env.tap.counts()[m] ?? 0);
const decisions = (method: string) =>
  env.proxy.core.audit.saved.filter((r) => r.kind === 'decision' && r.method === method);

describe('MCP 2026-07-28 tasks extension through the proxy', () => {
  it('binds the task to its owner as it leaves; the owner gets, updates and reads it, named by Mcp-Name', async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice);
    const hash = boundStateHash('task', RESOURCE, taskId);
    // Bound before the answer left: the record names the task by hash, and no session (this era has none).
    expect(env.proxy.core.audit.saved.filter((r) => r.kind === 'task.bound')).toEqual([
      expect.objectContaining({
        principal: expect.objectContaining({ sub: 'alice' }),
        session: null,
        detail: expect.objectContaining({ task: hash }),
      }),
    ]);
    const waiting = await getTask(alice, taskId);
    expect(waiting.status).toBe('input_required');
    expect(Object.keys(waiting.inputRequests ?? {})).toEqual([V2_TASK_INPUT_KEY]);
    await updateTask(alice, taskId);
    const done = await getTask(alice, taskId);
    expect(done.status).toBe('completed');
    expect(done.result?.content[0]?.text).toBe(`job ${taskId} done`);
    expect(upstreamTaskCalls()).toEqual([2, 1, 0]);
    // The upstream received each with Mcp-Name = the task id (the SDK client's header, checked by the proxy).
    const named = env.v2
      .received()
      .filter((r) => (r.body as { method?: string } | undefined)?.method?.startsWith('tasks/'))
      .map((r) => [r.headers['mcp-method'], r.headers['mcp-name']]);
    expect(named).toEqual([
      ['tasks/get', taskId],
      ['tasks/update', taskId],
      ['tasks/get', taskId],
    ]);
    // Every use was decided with the task, allowed, and recorded by hash; the id itself is nowhere in the trail.
    for (const method of ['tasks/get', 'tasks/update']) {
      expect(decisions(method).map((r) => [r.allow, r.detail?.task])).toEqual(
        Array.from({ length: method === 'tasks/get' ? 2 : 1 }, () => [true, hash]),
      );
    }
    expect(JSON.stringify(env.proxy.core.audit.saved)).not.toContain(taskId);
    await alice.close();
  });

  it('lets the owner cancel its task', async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice);
    await cancelTask(alice, taskId);
    expect((await getTask(alice, taskId)).status).toBe('cancelled');
    expect(decisions('tasks/cancel').map((r) => [r.allow, r.detail?.task])).toEqual([
      [true, boundStateHash('task', RESOURCE, taskId)],
    ]);
    await alice.close();
  });

  it("refuses another principal's tasks/get, tasks/update and tasks/cancel, audited, never forwarded", async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice);
    const hash = boundStateHash('task', RESOURCE, taskId);
    const bob = await connect('bob');
    env.tap.reset();
    env.v2.reset();
    expect(await refusal(getTask(bob, taskId))).toEqual(['task_owner_mismatch']);
    expect(await refusal(updateTask(bob, taskId))).toEqual(['task_owner_mismatch']);
    expect(await refusal(cancelTask(bob, taskId))).toEqual(['task_owner_mismatch']);
    expect(upstreamTaskCalls()).toEqual([0, 0, 0]);
    expect(env.v2.taskCalls).toEqual([]);
    const replays = env.proxy.core.audit.saved.filter((r) => r.kind === 'task.owner_mismatch');
    expect(replays.map((r) => [r.method, r.session, r.principal?.sub, r.allow])).toEqual([
      ['tasks/get', hash, 'bob', false],
      ['tasks/update', hash, 'bob', false],
      ['tasks/cancel', hash, 'bob', false],
    ]);
    for (const method of TASK_METHODS) {
      expect(
        decisions(method).map((r) => [r.principal?.sub, r.allow, r.reasons.map((x) => x.code), r.detail?.task]),
      ).toEqual([['bob', false, ['task_owner_mismatch'], hash]]);
    }
    // The owner's task is untouched: neither answered nor cancelled by the attempts.
    const still = await getTask(alice, taskId);
    expect(still.status).toBe('input_required');
    await alice.close();
    await bob.close();
  });

  it("refuses an Mcp-Name that differs from the body's taskId (-32020), neither decided nor forwarded", async () => {
    const alice = await connect('alice');
    const own = await startTask(alice, 'own');
    const bob = await connect('bob');
    const theirs = await startTask(bob, 'theirs');
    env.proxy.core.audit.saved.length = 0;
    env.tap.reset();
    const token = await env.proxy.token('alice', 'mcp:read');
    for (const method of TASK_METHODS) {
      const params = method === 'tasks/update' ? { taskId: own, inputResponses: {} } : { taskId: own };
      // The header routes to another principal's task while the body names the caller's own, and the reverse.
      const routedElsewhere = await post(token, method, params, { 'mcp-name': theirs });
      expect(routedElsewhere.status, method).toBe(400);
      expect(routedElsewhere.body.error?.code, method).toBe(-32020);
      expect(routedElsewhere.body.error?.message).toContain(`Mcp-Name header value '${theirs}' does not match`);
      const bodyElsewhere = await post(token, method, { ...params, taskId: theirs }, { 'mcp-name': own });
      expect(bodyElsewhere.body.error?.code, method).toBe(-32020);
      const missing = await post(token, method, params, {});
      expect(missing.status, method).toBe(400);
      expect(missing.body.error?.message).toContain('the Mcp-Name header is missing');
    }
    expect(env.tap.requests()).toEqual([]);
    expect(env.proxy.core.audit.saved).toEqual([]);
    // The same id in the header's Base64 form matches, and goes on to be decided and forwarded.
    const encoded = `=?base64?${Buffer.from(own, 'utf8').toString('base64')}?=`;
    const allowed = await post(token, 'tasks/get', { taskId: own }, { 'mcp-name': encoded });
    expect(allowed.status).toBe(200);
    expect(allowed.body.result).toMatchObject({ resultType: 'complete', taskId: own, status: 'input_required' });
    expect(upstreamTaskCalls()).toEqual([1, 0, 0]);
    await alice.close();
    await bob.close();
  });

  it('refuses a task id the proxy never bound (task_unknown), never forwarded', async () => {
    const alice = await connect('alice');
    // Also one the upstream made and answered behind the proxy's back (straight to the tap).
    const unseen = await startTask(null, 'behind', env.tap.url);
    env.tap.reset();
    env.v2.reset();
    for (const taskId of ['no-such-task', unseen]) {
      expect(await refusal(getTask(alice, taskId))).toEqual(['task_unknown']);
      expect(await refusal(updateTask(alice, taskId))).toEqual(['task_unknown']);
      expect(await refusal(cancelTask(alice, taskId))).toEqual(['task_unknown']);
    }
    expect(upstreamTaskCalls()).toEqual([0, 0, 0]);
    expect(env.v2.taskCalls).toEqual([]);
    await alice.close();
  });
});

describe('the lifetime of a 2026-07-28 task (no session: its principal, and the longest session TTL)', () => {
  it('ends for everyone when its owner is revoked: its old token is refused, a new one finds it closed', async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice);
    const oldToken = await env.proxy.token('alice', 'mcp:read');
    await revokePrincipal(env.proxy.core.deps, { subject: 'alice' }, ADMIN);
    // The revocation also ended the task's record: revoking a principal revokes every record it owns.
    const revoked = env.proxy.core.audit.saved.filter((r) => r.kind === 'task.revoked');
    expect(revoked.map((r) => r.session)).toContain(boundStateHash('task', RESOURCE, taskId));
    env.proxy.core.clock.advance(2_000); // a token issued after the revocation is not covered by it
    const again = await connect('alice');
    const bob = await connect('bob');
    env.tap.reset();
    for (const method of TASK_METHODS) {
      const params = method === 'tasks/update' ? { taskId, inputResponses: {} } : { taskId };
      const stale = await post(oldToken, method, params, { 'mcp-name': taskId });
      expect(stale.status, method).toBe(401);
      expect(codes(stale), method).toEqual(['principal_revoked']);
    }
    expect(await refusal(getTask(again, taskId))).toEqual(['task_closed']);
    expect(await refusal(updateTask(again, taskId))).toEqual(['task_closed']);
    expect(await refusal(cancelTask(again, taskId))).toEqual(['task_closed']);
    expect(await refusal(getTask(bob, taskId))).toEqual(['task_owner_mismatch']);
    expect(upstreamTaskCalls()).toEqual([0, 0, 0]);
    await alice.close();
    await again.close();
    await bob.close();
  });

  it('expires after the longest session TTL, polled or not', async () => {
    const carol = await connect('carol');
    const taskId = await startTask(carol);
    const bound = env.proxy.core.audit.saved.find((r) => r.kind === 'task.bound');
    const ttlMs = env.proxy.core.deps.limits.maxTtlSeconds * 1000;
    expect(bound?.detail?.expires_at).toBe(new Date(env.proxy.core.clock.now + ttlMs).toISOString());
    env.proxy.core.clock.advance(ttlMs - 60_000);
    const late = await connect('carol');
    expect((await getTask(late, taskId)).status).toBe('input_required');
    env.proxy.core.clock.advance(60_000);
    const expired = await connect('carol');
    env.tap.reset();
    expect(await refusal(getTask(expired, taskId))).toEqual(['task_closed']);
    expect(upstreamTaskCalls()).toEqual([0, 0, 0]);
    await carol.close();
    await late.close();
    await expired.close();
  });
});
