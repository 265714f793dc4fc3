import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_CALLER } from '../../src/cli/proxy.ts';
import { revokeSession } from '../../src/decision/sessions.ts';
import { boundStateHash } from '../../src/session/ids.ts';
import { startCountingTap, startEverything, type CountingTap, type Everything } from '../helpers/everything.ts';
import { RESOURCE, startTestProxy, type TestProxy } from '../helpers/proxy.ts';

// MCP 2025-11-25 tasks: server-everything's simulate-research-query behind a counting tap,
// the proxy in front, the real SDK client (with an elicitation handler for input_required).
let everything: Everything;
let tap: CountingTap;
let proxy: TestProxy;

beforeAll(async () => {
  everything = await startEverything();
  tap = await startCountingTap(everything.url);
  proxy = await startTestProxy(tap.url);
});
afterAll(async () => {
  await proxy?.stop();
  await tap?.stop();
  await everything?.stop();
});
beforeEach(() => {
  tap.reset();
  proxy.core.audit.saved.length = 0;
});

interface Connected {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly elicited: string[];
}

async function connect(sub: string): Promise<Connected> {
  const token = await proxy.token(sub, 'mcp:read');
  const transport = new StreamableHTTPClientTransport(new URL(proxy.url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'e2e-tasks', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  const elicited: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    elicited.push(request.params.message);
    return { action: 'accept', content: { interpretation: 'technical' } };
  });
  await client.connect(transport);
  return { client, transport, elicited };
}

async function startTask(client: Client, ambiguous: boolean): Promise<string> {
  const created = await client.request(
    {
      method: 'tools/call',
      params: { name: 'simulate-research-query', arguments: { topic: 'tides', ambiguous }, task: { ttl: 60_000 } },
    },
    CreateTaskResultSchema,
  );
  return created.task.taskId;
}

const getTask = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema);
const taskResult = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/result', params: { taskId } }, CallToolResultSchema, { timeout: 30_000 });
const cancelTask = (client: Client, taskId: string) =>
  client.request({ method: 'tasks/cancel', params: { taskId } }, CancelTaskResultSchema);
const listTasks = (client: Client) => client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);

async function refusal(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(
    () => expect.unreachable('the request was allowed'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  expect((err as McpError).code).toBe(-32003);
  return ((err as McpError).data as { reasons: { code: string }[] }).reasons.map((r) => r.code);
}

describe('MCP tasks through the proxy (2025-11-25)', () => {
  it('lets the owner start, poll, list and read a task, through its input_required elicitation', async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice.client, true);
    const hash = boundStateHash('task', RESOURCE, taskId);
    expect(proxy.core.audit.saved.filter((r) => r.kind === 'task.bound')).toEqual([
      expect.objectContaining({
        principal: expect.objectContaining({ sub: 'alice' }),
        detail: expect.objectContaining({ task: hash }),
      }),
    ]);
    expect((await getTask(alice.client, taskId)).taskId).toBe(taskId);
    expect((await listTasks(alice.client)).tasks.map((t) => t.taskId)).toContain(taskId);
    // tasks/result blocks until the task is done; the elicitation arrives on its stream first.
    const result = await taskResult(alice.client, taskId);
    expect(alice.elicited).toHaveLength(1);
    expect(JSON.stringify(result.content)).toContain('Research Report: tides (technical)');
    const uses = proxy.core.audit.saved.filter((r) => r.kind === 'decision' && r.method?.startsWith('tasks/'));
    expect(uses.filter((r) => r.method !== 'tasks/list').every((r) => r.detail?.task === hash)).toBe(true);
    await alice.client.close();
  });

  it("refuses another principal's tasks/get, result and cancel, audited, and hides it from its list", async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice.client, false);
    const hash = boundStateHash('task', RESOURCE, taskId);
    const bob = await connect('bob');
    tap.reset();
    expect(await refusal(getTask(bob.client, taskId))).toEqual(['task_owner_mismatch']);
    expect(await refusal(taskResult(bob.client, taskId))).toEqual(['task_owner_mismatch']);
    expect(await refusal(cancelTask(bob.client, taskId))).toEqual(['task_owner_mismatch']);
    const counts = tap.counts();
    expect([counts['tasks/get'], counts['tasks/result'], counts['tasks/cancel']]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const replays = proxy.core.audit.saved.filter((r) => r.kind === 'task.owner_mismatch');
    expect(replays.map((r) => [r.method, r.session, r.principal?.sub])).toEqual([
      ['tasks/get', hash, 'bob'],
      ['tasks/result', hash, 'bob'],
      ['tasks/cancel', hash, 'bob'],
    ]);
    expect((await listTasks(bob.client)).tasks.map((t) => t.taskId)).not.toContain(taskId);
    expect((await listTasks(alice.client)).tasks.map((t) => t.taskId)).toContain(taskId);
    // The owner's task is untouched by the attempts.
    expect((await getTask(alice.client, taskId)).status).not.toBe('cancelled');
    await alice.client.close();
    await bob.client.close();
  });

  it("closes a task to everyone, its owner included, once the owner's session is revoked", async () => {
    const alice = await connect('alice');
    const taskId = await startTask(alice.client, false);
    await revokeSession(proxy.core.deps, { id: alice.transport.sessionId! }, PROXY_CALLER);
    const again = await connect('alice');
    const bob = await connect('bob');
    tap.reset();
    expect(await refusal(getTask(again.client, taskId))).toEqual(['task_closed']);
    expect(await refusal(taskResult(again.client, taskId))).toEqual(['task_closed']);
    expect(await refusal(getTask(bob.client, taskId))).toEqual(['task_owner_mismatch']);
    expect(tap.counts()['tasks/get']).toBeUndefined();
    expect((await listTasks(again.client)).tasks.map((t) => t.taskId)).not.toContain(taskId);
    await again.client.close();
    await bob.client.close();
  });

  it('refuses a task id the proxy never bound', async () => {
    const alice = await connect('alice');
    expect(await refusal(getTask(alice.client, 'no-such-task'))).toEqual(['task_unknown']);
    expect(tap.counts()['tasks/get']).toBeUndefined();
    await alice.client.close();
  });
});
