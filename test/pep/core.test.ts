import { describe, expect, it, vi } from 'vitest';
import type { Decision } from '../../src/decision/types.ts';
import { denialKind } from '../../src/pep/answers.ts';
import { decideRequest, type EnforcementContext } from '../../src/pep/enforce.ts';
import { eraRefusal, isModern, legacyRefusal, modernRefusal } from '../../src/pep/era.ts';
import { filterListResult, screenServerMessage } from '../../src/pep/list-filter.ts';
import { classify } from '../../src/pep/message.ts';
import { enforceableDecision } from '../../src/pep/obligations.ts';
import { duplicateInBatch, PendingIds } from '../../src/pep/pending-ids.ts';
import { StreamSupervisor } from '../../src/pep/stream-supervisor.ts';
import { WardenRefusal, type Warden } from '../../src/pep/warden.ts';

const decision = (allow: boolean, codes: string[] = [], obligations: Record<string, unknown> = {}): Decision => ({
  decision_id: 'd',
  allow,
  reasons: codes.map((code) => ({ code, message: code })),
  obligations,
  visible_tools: null,
  policy: { revision: null },
});

function fakeWarden(overrides: Partial<Warden> = {}): Warden {
  return {
    decide: async () => decision(true),
    createSession: async () => expect.unreachable(),
    widenSession: async () => expect.unreachable(),
    bindState: async () => expect.unreachable(),
    sealRequestState: async () => expect.unreachable(),
    revokeSession: async () => undefined,
    liveness: async (items) => items.map(() => null),
    close: async () => undefined,
    ...overrides,
  };
}

const ctx = (warden: Warden, more: Partial<EnforcementContext> = {}): EnforcementContext => ({
  warden,
  server: 's',
  token: 't',
  session: 'mws_x',
  protocolVersion: '2025-11-25',
  widenOnDemand: true,
  obligations: new Set(),
  ...more,
});

describe('the enforcement core', () => {
  it('widens only a call denied for nothing but the session scope, then decides again', async () => {
    const answers = [decision(false, ['tool_not_in_session_scope']), decision(true)];
    const widen = vi.fn(async () => ({}) as never);
    const warden = fakeWarden({ decide: async () => answers.shift()!, widenSession: widen });
    const tools = { method: 'tools/call', params: { name: 'echo' } };
    expect((await decideRequest(ctx(warden), tools)).allow).toBe(true);
    expect(widen).toHaveBeenCalledOnce();
    const mixed = fakeWarden({
      decide: async () => decision(false, ['tool_not_in_session_scope', 'argument_not_allowed']),
      widenSession: widen,
    });
    expect((await decideRequest(ctx(mixed), tools)).allow).toBe(false);
    expect(widen).toHaveBeenCalledOnce();
    const refused = fakeWarden({
      decide: async () => decision(false, ['tool_not_in_session_scope']),
      widenSession: async () => {
        throw new WardenRefusal('session_not_granted', 'no', [{ code: 'tool_not_permitted', message: 'no' }]);
      },
    });
    expect((await decideRequest(ctx(refused), tools)).reasons.map((r) => r.code)).toEqual([
      'tool_not_in_session_scope',
      'tool_not_permitted',
    ]);
  });

  it('turns an allow with an obligation it does not carry out into obligation_unsupported', async () => {
    const warden = fakeWarden({ decide: async () => decision(true, [], { approval: {} }) });
    const denied = await decideRequest(ctx(warden), { method: 'tools/call', params: { name: 'x' } });
    expect(denied.allow).toBe(false);
    expect(denied.reasons.map((r) => r.code)).toEqual(['obligation_unsupported']);
    expect(enforceableDecision(decision(true, [], { approval: {} }), new Set(['approval'])).allow).toBe(true);
  });

  it('classifies denials by the family of their codes, identity first', () => {
    expect(
      denialKind([
        { code: 'token_expired', message: '' },
        { code: 'session_revoked', message: '' },
      ]),
    ).toBe('identity');
    expect(denialKind([{ code: 'principal_revoked', message: '' }])).toBe('identity');
    expect(denialKind([{ code: 'session_expired', message: '' }])).toBe('state_gone');
    expect(denialKind([{ code: 'session_owner_mismatch', message: '' }])).toBe('state_refused');
    expect(denialKind([{ code: 'shutting_down', message: '' }])).toBe('unavailable');
    expect(denialKind([{ code: 'tool_not_permitted', message: '' }])).toBe('denied');
  });

  it('knows the eras: 2026-07-28 on is modern; modern requests state their version in _meta, carry no session', () => {
    expect(isModern('2026-07-28')).toBe(true);
    expect(isModern('2026-7-28')).toBe(false);
    expect(isModern('latest')).toBe(false);
    expect(eraRefusal('modern', new Set(['legacy']))?.reason.code).toBe('era_not_supported');
    expect(eraRefusal('legacy', new Set())?.reason.code).toBe('era_not_supported');
    expect(eraRefusal('legacy', new Set(['legacy', 'modern']))).toBeNull();
    const request = (meta?: unknown) =>
      classify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: meta === undefined ? {} : { _meta: meta } });
    expect(modernRefusal(request(), '2026-07-28', false)?.rpcCode).toBe(-32602);
    expect(
      modernRefusal(request({ 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }), '2026-07-28', true)?.reason
        .code,
    ).toBe('invalid_request');
    expect(
      modernRefusal(request({ 'io.modelcontextprotocol/protocolVersion': '2027-01-01' }), '2026-07-28', false)?.rpcCode,
    ).toBe(-32020);
    expect(
      modernRefusal(request({ 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }), '2026-07-28', false),
    ).toBeNull();
    // A legacy request may not state a modern version in _meta (an upstream of both eras could read it as modern).
    expect(legacyRefusal([request({ 'io.modelcontextprotocol/protocolVersion': '2026-07-28' })])?.rpcCode).toBe(-32020);
    expect(legacyRefusal([request({ 'io.modelcontextprotocol/protocolVersion': '2025-11-25' }), request()])).toBeNull();
  });

  it('refuses repeated ids within a batch and while pending, and frees them once answered', () => {
    const req = (id: number | string, method = 'tools/list') => classify({ jsonrpc: '2.0', id, method });
    expect(duplicateInBatch([req(1), req(2)])).toBeUndefined();
    expect(duplicateInBatch([req(1), req('1')])?.code).toBe('duplicate_id');
    const pending = new PendingIds();
    const release = pending.claim('s', [{ id: 1, method: 'tools/list' }]);
    expect(typeof release).toBe('function');
    expect(pending.methodOf('s', 1)).toBe('tools/list');
    expect(pending.claim('s', [{ id: '1', method: 'prompts/list' }])).toMatchObject({ code: 'duplicate_id' });
    expect(typeof pending.claim('other', [{ id: 1, method: 'prompts/list' }])).toBe('function');
    (release as () => void)();
    expect(pending.methodOf('s', 1)).toBeUndefined();
    expect(typeof pending.claim('s', [{ id: 1, method: 'prompts/list' }])).toBe('function');
  });

  it('filters list answers, drops fields the method did not ask for, marks them private', async () => {
    const result = {
      tools: [{ name: 'a' }, { name: 'b' }, { nameless: true }],
      prompts: [{ name: 'smuggled' }],
      nextCursor: 'c',
      ttlMs: 10,
      cacheScope: 'public',
    };
    const filtered = await filterListResult('tools/list', result, async (candidates) => {
      expect(candidates).toEqual(['a', 'b']);
      return ['b'];
    });
    expect(filtered).toEqual({ tools: [{ name: 'b' }], nextCursor: 'c', ttlMs: 10, cacheScope: 'private' });
    const templates = await filterListResult(
      'resources/templates/list',
      { resourceTemplates: [{ uriTemplate: 'file:///x/{a}' }] },
      async () => null,
    );
    expect(templates).toEqual({ resourceTemplates: [] });
  });

  it('withholds a list-shaped answer to no pending request; filters one to a pending list as its method', async () => {
    const visible = (method: string) => async () => (method === 'tools/list' ? ['a'] : []);
    const screen = (pendingMethod: (id: unknown) => string | undefined) => ({
      pendingMethod,
      pendingHandleResult: () => undefined,
      visibleFor: visible,
      modern: false,
      bindTask: async () => expect.unreachable('no task was created'),
      bindHandle: async () => expect.unreachable('no handle was returned'),
      sealRequestState: async () => expect.unreachable('no request state was returned'),
    });
    const stray = { jsonrpc: '2.0', id: 9, result: { tools: [{ name: 'a' }, { name: 'secret' }] } };
    expect(
      await screenServerMessage(
        stray,
        screen(() => undefined),
      ),
    ).toBeUndefined();
    const other = { jsonrpc: '2.0', id: 9, result: { content: [] } };
    expect(
      await screenServerMessage(
        other,
        screen(() => undefined),
      ),
    ).toBe(other);
    const asPrompts = await screenServerMessage(
      stray,
      screen(() => 'prompts/list'),
    );
    expect(asPrompts).toEqual({ jsonrpc: '2.0', id: 9, result: { prompts: [] } });
    const request = { jsonrpc: '2.0', id: 3, method: 'sampling/createMessage', params: {} };
    expect(
      await screenServerMessage(
        request,
        screen(() => undefined),
      ),
    ).toBe(request);
  });

  it('binds a created task before its id leaves; refuses the answer when it cannot be bound', async () => {
    const bound: string[] = [];
    const created = { jsonrpc: '2.0', id: 4, result: { task: { taskId: 't-1', status: 'working' } } };
    const screen = (bindTask: (id: string) => Promise<void>, method = 'tools/call') => ({
      pendingMethod: () => method,
      pendingHandleResult: () => undefined,
      visibleFor: () => async () => [],
      modern: false,
      bindTask,
      bindHandle: async () => expect.unreachable('no handle was returned'),
      sealRequestState: async (value: string) => `sealed:${value}`,
    });
    const binding = async (id: string) => {
      bound.push(id);
    };
    expect(await screenServerMessage(created, screen(binding))).toBe(created);
    expect(bound).toEqual(['t-1']);
    // A tasks/get answer names a task already bound; it is not bound again.
    const got = { jsonrpc: '2.0', id: 5, result: { task: { taskId: 't-2' } } };
    expect(await screenServerMessage(got, screen(binding, 'tasks/get'))).toBe(got);
    expect(bound).toEqual(['t-1']);
    const refused = await screenServerMessage(
      created,
      screen(async () => {
        throw new WardenRefusal('task_owner_mismatch', 'the task is bound to another principal');
      }),
    );
    expect(refused).toMatchObject({
      id: 4,
      error: { code: -32003, data: { reasons: [{ code: 'task_owner_mismatch' }] } },
    });
    expect(JSON.stringify(refused)).not.toContain('t-1');
    // An InputRequiredResult's requestState leaves sealed (the upstream's value never reaches the client).
    const input = {
      jsonrpc: '2.0',
      id: 6,
      result: { resultType: 'input_required', requestState: 'raw', inputRequests: {} },
    };
    expect(await screenServerMessage(input, screen(binding))).toEqual({
      ...input,
      result: { ...input.result, requestState: 'sealed:raw' },
    });
    // The 2026-07-28 tasks extension: resultType "task" with a top-level taskId.
    const modern = { jsonrpc: '2.0', id: 7, result: { resultType: 'task', taskId: 't-3', status: 'working' } };
    expect(await screenServerMessage(modern, screen(binding))).toBe(modern);
    expect(bound).toEqual(['t-1', 't-3']);
  });

  it('cuts a supervised stream when its check fails, rides out a short warden outage, and batches checks', async () => {
    const results: (string | null)[] = [null];
    const asked: number[] = [];
    const warden = fakeWarden({
      liveness: async (items) => {
        asked.push(items.length);
        const code = results.shift() ?? null;
        return items.map(() => (code === null ? null : { code, message: code }));
      },
    });
    const supervisor = new StreamSupervisor({ warden, intervalMs: 10, unavailableGraceMs: 60_000 });
    const cuts: string[] = [];
    supervisor.watch({ token: 't', session: 's', server: 'x' }, (r) => cuts.push(`a:${r.code}`));
    supervisor.watch({ token: 't', session: 's', server: 'x' }, (r) => cuts.push(`b:${r.code}`));
    results.push('pdp_unavailable', 'session_revoked');
    await vi.waitFor(() => expect(cuts).toHaveLength(2), { timeout: 2_000 });
    expect(cuts.sort()).toEqual(['a:session_revoked', 'b:session_revoked']);
    expect(asked.every((n) => n === 1)).toBe(true);
    expect(supervisor.size).toBe(0);
    supervisor.stop();
  });
});
