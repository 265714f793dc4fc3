import { specTypeSchemas } from '@modelcontextprotocol/client';
import * as sdk1 from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine, type PolicyEngine, type PolicyInput } from '../../src/policy/engine.ts';
import { fixtureBundle } from '../helpers/paths.ts';

// Every method of every MCP era has a considered default in the default policy
// (policies/mcp/authz.rego, "methods"; docs/policies.md, "Methods"). The methods are read
// from the SDKs' own schemas, so a method a new SDK adds fails here until the policy gives
// it a default (and this file's REFUSED names it when that default is a refusal).

type Json = Record<string, unknown>;

/** The `method` literal of a request or notification schema; undefined without one. */
function methodOf(schema: unknown): string | undefined {
  const value = (schema as { shape?: { method?: { value?: unknown } } } | undefined)?.shape?.method?.value;
  return typeof value === 'string' ? value : undefined;
}

/** The method literals of a union's members; a member without one is a failure, not a skip. */
function unionMethods(union: unknown): string[] {
  const options = (union as { options?: readonly unknown[] }).options ?? [];
  const methods = options.map(methodOf);
  expect(options.length).toBeGreaterThan(0);
  expect(methods.every((m) => m !== undefined)).toBe(true);
  return methods as string[];
}

/** The method literals of every exported request schema (names ending in `suffix`). */
function requestSchemaMethods(exports: Record<string, unknown>, suffix: string): string[] {
  return Object.entries(exports)
    .filter(([name]) => name.endsWith(suffix))
    .map(([, schema]) => methodOf(schema))
    .filter((m): m is string => m !== undefined);
}

interface Era {
  /** The protocol version the schemas are, and which the inputs state. */
  version: string;
  source: string;
  clientRequests: unknown;
  clientNotifications: unknown;
  serverRequests: unknown;
  /** Every request schema the package exports, in a union or not. */
  requestMethods: string[];
  /** Client requests that no schema of the package defines. */
  extra: string[];
}

// The 1.x unions are MCP 2025-11-25's, which hold every method of 2025-03-26 and
// 2025-06-18 too (the eras only added methods); 2.x's are MCP 2026-07-28's.
const ERAS: Era[] = [
  {
    version: '2025-11-25',
    source: '@modelcontextprotocol/sdk/types.js',
    clientRequests: sdk1.ClientRequestSchema,
    clientNotifications: sdk1.ClientNotificationSchema,
    serverRequests: sdk1.ServerRequestSchema,
    requestMethods: requestSchemaMethods(sdk1, 'RequestSchema'),
    extra: [],
  },
  {
    version: '2026-07-28',
    source: '@modelcontextprotocol/client specTypeSchemas',
    clientRequests: specTypeSchemas.ClientRequest,
    clientNotifications: specTypeSchemas.ClientNotification,
    serverRequests: specTypeSchemas.ServerRequest,
    requestMethods: requestSchemaMethods(specTypeSchemas, 'Request'),
    // The Tasks extension (SEP-2663) re-defines tasks/get and tasks/cancel and adds
    // tasks/update; the SDK names it only in its Mcp-Name header table, with no schema.
    extra: ['tasks/update'],
  },
];

/** Requests a client may send in `era`: its union, plus any request schema in no server union. */
function clientRequestMethods(era: Era): string[] {
  const server = new Set(unionMethods(era.serverRequests));
  const methods = new Set([...unionMethods(era.clientRequests), ...era.extra]);
  for (const m of era.requestMethods) if (!server.has(m)) methods.add(m);
  return [...methods].sort();
}

/** Requests only a server sends in `era` (a client answers them with a response). */
function serverOnlyMethods(era: Era): string[] {
  const client = new Set(clientRequestMethods(era));
  return unionMethods(era.serverRequests).filter((m) => !client.has(m));
}

const serverToClient = (method: string) =>
  `method '${method}' is a request a server sends to a client; the client answers it, it does not send it`;

/** The methods the default policy deliberately refuses, with the message it gives. */
const REFUSED: Record<string, string> = {
  'roots/list': serverToClient('roots/list'),
  'sampling/createMessage': serverToClient('sampling/createMessage'),
  'elicitation/create': serverToClient('elicitation/create'),
};

const NOW_NS = 1_700_000_000_000_000_000;
const TASK = { id_hash: '9a0b1c2d', kind: 'task', created_at: NOW_NS - 1, expires_at: NOW_NS + 1 };
const PROMPT = 'simple-prompt';
const URI = 'demo://resource/static/document/architecture.md';

/** A principal with server-everything's reader role (its least-privileged role). */
function principal(roles: string[] = ['reader'], scopes: string[] = []): Json {
  return { iss: 'i', sub: 'alice', client_id: 'app-1', scopes, roles, spiffe_id: null, kind: 'user', claims: {} };
}

/**
 * The input the engine builds for `method`, with a name the reader may use (src/decision/policy-input.ts):
 * `tool` for tools/call, `uri` for resources/*, `prompt` for prompts/get and a prompt's
 * completion, and the principal's own task for tasks/*.
 */
function inputFor(method: string, version: string, overrides: Json = {}): PolicyInput {
  const { request, ...rest } = overrides as { request?: Json };
  return {
    request: {
      method,
      tool: method === 'tools/call' ? 'echo' : null,
      arguments: method === 'tools/call' ? { message: 'hi' } : null,
      uri: method.startsWith('resources/') ? URI : null,
      prompt: method === 'prompts/get' || method === 'completion/complete' ? PROMPT : null,
      protocol_version: version,
      candidates: null,
      tools: null,
      ...request,
    },
    principal: principal(),
    session: null,
    task: method.startsWith('tasks/') ? TASK : null,
    server: { id: 'https://mcp.example.com/everything' },
    caller: { id: 'pep-1', role: 'pep' },
    now_ns: NOW_NS,
    ...rest,
  };
}

const codes = (d: { reasons: { code: string }[] }) => d.reasons.map((r) => r.code);

describe('default policy: every MCP method of every era has a default', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await loadPolicyEngine(await readBundleFile(fixtureBundle('catalogue-everything'), 64 << 20));
  });

  for (const era of ERAS) {
    describe(`${era.version} (${era.source})`, () => {
      it('allows every client request for a principal the catalogue permits (no method_not_permitted)', () => {
        const methods = clientRequestMethods(era);
        expect(methods.length).toBeGreaterThan(10);
        const refused = methods.filter((m) => m in REFUSED);
        expect(refused, 'a client request the policy refuses as server-to-client').toEqual([]);
        for (const method of methods) {
          const d = engine.decide(inputFor(method, era.version));
          expect(codes(d), method).not.toContain('method_not_permitted');
          expect({ method, allow: d.allow, reasons: d.reasons }).toEqual({ method, allow: true, reasons: [] });
        }
      });

      it('refuses a server-to-client request sent as a request, with its documented reason', () => {
        const methods = serverOnlyMethods(era);
        expect(methods.length).toBeGreaterThan(0);
        for (const method of methods) {
          expect(Object.keys(REFUSED), `${method} has no documented default`).toContain(method);
          const d = engine.decide(inputFor(method, era.version, { principal: principal(['admin']) }));
          expect({ method, ...d }).toEqual({
            method,
            allow: false,
            reasons: [{ code: 'method_not_permitted', message: REFUSED[method] }],
            obligations: {},
            visible: null,
            required_scopes: [],
          });
        }
      });

      it('allows every client notification', () => {
        for (const method of unionMethods(era.clientNotifications)) {
          expect(engine.decide(inputFor(method, era.version, { principal: principal([]) })).allow, method).toBe(true);
        }
      });
    });
  }

  it('refuses only server-to-client requests, each of which some era defines', () => {
    const serverOnly = new Set(ERAS.flatMap(serverOnlyMethods));
    expect(Object.keys(REFUSED).sort()).toEqual([...serverOnly].sort());
    const client = new Set(ERAS.flatMap(clientRequestMethods));
    for (const method of Object.keys(REFUSED)) expect(client.has(method), method).toBe(false);
  });

  it('still refuses a method no era defines', () => {
    const d = engine.decide(inputFor('skills/list', '2026-07-28', { principal: principal(['admin']) }));
    expect(d.reasons).toEqual([
      { code: 'method_not_permitted', message: "method 'skills/list' is not permitted by policy" },
    ]);
  });
});

describe('default policy: the method defaults, decided', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await loadPolicyEngine(await readBundleFile(fixtureBundle('catalogue-everything'), 64 << 20));
  });
  const V = '2025-11-25';
  const decide = (method: string, overrides: Json = {}) => engine.decide(inputFor(method, V, overrides));

  it('logging/setLevel and subscriptions/listen: any authenticated principal, roles or not', () => {
    for (const method of ['logging/setLevel', 'subscriptions/listen', 'transport/response']) {
      expect(decide(method, { principal: principal([]) }).allow, method).toBe(true);
    }
  });

  it('completion/complete: decided like the prompt or the resource it completes', () => {
    const ref = (prompt: string | null, uri: string | null) => ({ request: { prompt, uri } });
    expect(decide('completion/complete', ref(PROMPT, null)).allow).toBe(true);
    expect(decide('completion/complete', ref(null, 'demo://resource/static/document/{file}')).allow).toBe(true);
    const prompt = decide('completion/complete', ref('args-prompt', null));
    expect(codes(prompt)).toEqual(['prompt_not_permitted']);
    expect(prompt.required_scopes).toEqual(['mcp:admin', 'mcp:write']);
    const resource = decide('completion/complete', ref(null, 'demo://resource/dynamic/text/{id}'));
    expect(codes(resource)).toEqual(['resource_not_permitted']);
    expect(resource.required_scopes).toEqual(['mcp:admin', 'mcp:write']);
    const neither = decide('completion/complete', ref(null, null));
    expect(neither.reasons).toEqual([
      {
        code: 'completion_ref_invalid',
        message: 'completion/complete needs a ref/prompt with a name or a ref/resource with a uri',
      },
    ]);
    expect(neither.required_scopes).toEqual([]);
  });

  it('resources/subscribe and resources/unsubscribe: decided like resources/read', () => {
    for (const method of ['resources/read', 'resources/subscribe', 'resources/unsubscribe']) {
      expect(decide(method).allow, method).toBe(true);
      const outside = decide(method, { request: { uri: 'demo://resource/dynamic/text/1' } });
      expect(codes(outside), method).toEqual(['resource_not_permitted']);
      expect(outside.required_scopes, method).toEqual(['mcp:admin', 'mcp:write']);
      expect(codes(decide(method, { request: { uri: null } })), method).toEqual(['resource_not_permitted']);
      expect(codes(decide(method, { principal: principal([]) })), method).toEqual(['resource_not_permitted']);
    }
  });

  it('tasks/get, tasks/result, tasks/cancel, tasks/update: only with the task the engine found', () => {
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/update']) {
      expect(decide(method).allow, method).toBe(true);
      expect(decide(method, { principal: principal([]) }).allow, method).toBe(true);
      const unknown = decide(method, { task: null });
      expect(unknown.reasons, method).toEqual([
        { code: 'task_unknown', message: `method '${method}' names no live task of this principal on this server` },
      ]);
      expect(unknown.required_scopes, method).toEqual([]);
    }
  });

  it('tasks/list: allowed, visible = the sorted candidates the engine passed', () => {
    const d = decide('tasks/list', { request: { candidates: ['task-b', 'task-a'] }, task: null });
    expect(d).toMatchObject({ allow: true, reasons: [], visible: ['task-a', 'task-b'] });
    expect(decide('tasks/list', { principal: principal([]), task: null }).visible).toEqual([]);
  });

  it("simulate-research-query (server-everything's task tool) is a reader's tool", () => {
    const call = decide('tools/call', { request: { tool: 'simulate-research-query', arguments: { topic: 'x' } } });
    expect(call.allow).toBe(true);
    for (const roles of [['reader'], ['writer'], ['admin']]) {
      expect(decide('tools/list', { principal: principal(roles) }).visible).toContain('simulate-research-query');
    }
  });
});
