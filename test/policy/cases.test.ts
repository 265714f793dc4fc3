import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { checkCase, loadCaseFiles } from '../../src/policy/cases.ts';
import { loadPolicyEngine, type PolicyEngine } from '../../src/policy/engine.ts';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { FIXTURE_BUNDLES, OPA, ROOT } from '../helpers/paths.ts';

const MAX = 64 << 20;
const CASES = join(ROOT, 'test/fixtures/cases');
const EXAMPLES = join(ROOT, 'policies/examples');

type Json = Record<string, unknown>;

const files = loadCaseFiles(CASES);

describe('default policy: data-driven cases (test/fixtures/cases)', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await loadPolicyEngine(await readBundleFile(DEFAULT_BUNDLE, MAX));
  });

  it('has at least 25 cases with unique notes', () => {
    const notes = files.flatMap((f) => f.cases.map((c) => c.note));
    expect(notes.length).toBeGreaterThanOrEqual(25);
    expect(new Set(notes).size).toBe(notes.length);
  });

  for (const { file, cases } of files) {
    describe(file, () => {
      for (const c of cases) {
        it(c.note, () => {
          expect(checkCase(engine, c)).toEqual([]);
        });
      }
    });
  }
});

// --- policies/examples, compiled to WASM and evaluated with opa-wasm directly ---------
// The engine requires both mcp/authz/decision and mcp/session/grant, which an example
// does not define, so these load the module themselves.

const WED_1030_UTC = Date.UTC(2026, 2, 4, 10, 30) * 1_000_000; // a Wednesday
const WED_2000_UTC = Date.UTC(2026, 2, 4, 20, 0) * 1_000_000;

interface ExampleCase {
  input: Json;
  allow: boolean;
  codes?: string[];
  obligations?: Json;
  visible?: string[] | null;
}

const call = (tool: string, extra: Json = {}): Json => ({ request: { method: 'tools/call', tool, ...extra } });

const EXAMPLE_CASES: Record<string, { allow: ExampleCase; deny: ExampleCase }> = {
  rbac: {
    allow: { input: { ...call('fs_write'), principal: { roles: ['writer'] } }, allow: true },
    deny: {
      input: { ...call('fs_delete'), principal: { roles: ['writer'] } },
      allow: false,
      codes: ['tool_not_permitted'],
    },
  },
  arguments: {
    allow: { input: call('http_fetch', { arguments: { url: 'https://api.example.com/v1' } }), allow: true },
    deny: {
      input: call('sql_query', { arguments: { query: 'select 1', max_rows: 50_000 } }),
      allow: false,
      codes: ['argument_not_allowed'],
    },
  },
  approval: {
    allow: {
      input: call('db_drop', { arguments: { database: 'orders' } }),
      allow: true,
      obligations: {
        approval: {
          approvers: { subjects: ['carol', 'dba-oncall'], groups: ['dba'] },
          grant_ttl_seconds: 300,
          request_ttl_seconds: 3600,
          reason: "db_drop drops the database 'orders': a DBA must approve this exact call",
        },
      },
    },
    deny: {
      input: call('db_drop', { arguments: { database: 'orders; drop table users' } }),
      allow: false,
      codes: ['argument_not_allowed'],
    },
  },
  workloads: {
    allow: {
      input: { ...call('deploy'), principal: { kind: 'workload', spiffe_id: 'spiffe://example.org/ci/runner' } },
      allow: true,
    },
    deny: {
      input: { ...call('deploy'), principal: { kind: 'user', sub: 'alice', spiffe_id: null } },
      allow: false,
      codes: ['principal_not_workload'],
    },
  },
  delegation: {
    allow: {
      input: {
        ...call('db_drop'),
        principal: {
          kind: 'user',
          sub: 'alice',
          shared: false,
          claims: { tenant: 'acme' },
          actor: [
            {
              iss: 'spiffe://example.org',
              sub: 'spiffe://example.org/agents/researcher',
              client_id: null,
              spiffe_id: 'spiffe://example.org/agents/researcher',
              attested: true,
            },
          ],
        },
      },
      allow: true,
      obligations: {
        approval: {
          approvers: 'self',
          reason:
            "your agent 'spiffe://example.org/agents/researcher' asks to run the destructive tool 'db_drop' " +
            'for you: approve it only if you meant it to',
        },
      },
    },
    deny: {
      input: {
        ...call('payments_send'),
        principal: {
          kind: 'user',
          sub: 'alice',
          shared: false,
          claims: { tenant: 'acme' },
          actor: [
            {
              iss: 'https://idp.example.com',
              sub: 'researcher',
              client_id: 'agents',
              spiffe_id: null,
              attested: false,
            },
          ],
        },
      },
      allow: false,
      codes: ['agent_not_attributable'],
    },
  },
  time_window: {
    allow: { input: { ...call('deploy'), now_ns: WED_1030_UTC }, allow: true },
    deny: { input: { ...call('deploy'), now_ns: WED_2000_UTC }, allow: false, codes: ['outside_time_window'] },
  },
  visibility: {
    allow: {
      input: {
        request: { method: 'tools/list', candidates: ['fs_write', 'fs_read', 'shell'] },
        principal: { roles: ['reader'] },
      },
      allow: true,
      visible: ['fs_read'],
    },
    deny: {
      input: { ...call('fs_write'), principal: { roles: ['reader'] } },
      allow: false,
      codes: ['tool_not_permitted'],
    },
  },
};

const exampleNames = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** Compiles policies/examples/<name> (tests left out) into var/test-bundles/example-<name>.tar.gz. */
function buildExample(name: string): string {
  const out = join(FIXTURE_BUNDLES, `example-${name}.tar.gz`);
  execFileSync(
    OPA,
    [
      'build',
      '-t',
      'wasm',
      '-e',
      `mcp/examples/${name}/decision`,
      '--ignore',
      '*_test.rego',
      '--revision',
      `example-${name}`,
      '-o',
      out,
      join(EXAMPLES, name),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return out;
}

describe('policies/examples compiled to WASM', () => {
  it('every example folder has an allow and a deny case here', () => {
    expect(exampleNames).toEqual(Object.keys(EXAMPLE_CASES).sort());
  });

  for (const name of exampleNames) {
    describe(name, () => {
      const entrypoint = `mcp/examples/${name}/decision`;
      let policy: LoadedPolicy;
      let now = 0;
      beforeAll(async () => {
        mkdirSync(FIXTURE_BUNDLES, { recursive: true });
        const bundle = await readBundleFile(buildExample(name), MAX);
        expect(bundle.entrypoints).toEqual([entrypoint]);
        // Like the engine: time.now_ns() is the host's and equals input.now_ns.
        policy = await loadPolicy(bundle.wasm, undefined, { 'time.now_ns': () => now });
        policy.setData(bundle.data as object);
      });

      for (const kind of ['allow', 'deny'] as const) {
        it(kind, () => {
          const c = EXAMPLE_CASES[name]?.[kind];
          if (c === undefined) throw new Error(`no ${kind} case for example ${name}`);
          now = typeof c.input.now_ns === 'number' ? c.input.now_ns : 0;
          const [first] = policy.evaluate(c.input, entrypoint) as Array<{ result: Json }>;
          const got = first?.result as {
            allow: boolean;
            reasons: Array<{ code: string; message: string }>;
            obligations: Json;
            visible: unknown;
          };
          expect(Object.keys(got).sort()).toEqual(['allow', 'obligations', 'reasons', 'visible']);
          expect(got.allow).toBe(c.allow);
          expect(got.reasons.map((r) => r.code)).toEqual(c.codes ?? []);
          expect(got.obligations).toEqual(c.obligations ?? {});
          expect(got.visible).toEqual(c.visible ?? null);
        });
      }
    });
  }
});
