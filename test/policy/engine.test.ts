import { describe, expect, it } from 'vitest';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine, type PolicyInput } from '../../src/policy/engine.ts';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { fixtureBundle } from '../helpers/paths.ts';

const MAX = 64 << 20;

function input(overrides: Record<string, unknown> = {}): PolicyInput {
  return {
    request: {
      method: 'tools/call',
      tool: 'fs_read',
      arguments: { path: '/srv/data/a.txt' },
      uri: null,
      prompt: null,
      protocol_version: null,
      candidates: null,
      tools: null,
    },
    principal: {
      iss: 'i',
      sub: 'alice',
      client_id: null,
      scopes: [],
      roles: ['reader'],
      spiffe_id: null,
      kind: 'user',
      claims: {},
    },
    session: null,
    server: { id: 'https://mcp.example.com/files' },
    caller: { id: 'pep-1', role: 'pep' },
    now_ns: 1_700_000_000_000_000_000,
    ...overrides,
  };
}

async function engineFor(name: string) {
  return loadPolicyEngine(await readBundleFile(fixtureBundle(name), MAX));
}

describe('policy engine', () => {
  it('evaluates the default bundle: allow for a permitted call, deny with codes otherwise', async () => {
    const engine = await loadPolicyEngine(await readBundleFile(DEFAULT_BUNDLE, MAX));
    expect(engine.revision).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/);
    expect(engine.decide(input())).toEqual({
      allow: true,
      reasons: [],
      obligations: {},
      visible: null,
      required_scopes: [],
    });
    const denied = engine.decide(
      input({ request: { method: 'tools/call', tool: 'fs_delete', arguments: { path: '/srv/data/a' } } }),
    );
    expect(denied.allow).toBe(false);
    expect(denied.reasons.map((r) => r.code)).toContain('destructive_requires_role');
  });

  it('turns an undefined result into policy_undefined', async () => {
    const engine = await engineFor('undefined');
    expect(() => engine.decide(input())).toThrow(expect.objectContaining({ code: 'policy_undefined' }));
    expect(() => engine.grant(input())).toThrow(expect.objectContaining({ code: 'policy_undefined' }));
  });

  it('turns a builtin the runtime lacks into policy_builtin_missing', async () => {
    const engine = await engineFor('missing-builtin');
    expect(() => engine.decide(input())).toThrow(expect.objectContaining({ code: 'policy_builtin_missing' }));
  });

  it('turns a result outside the output contract into policy_error', async () => {
    const engine = await engineFor('bad-output');
    expect(() => engine.decide(input())).toThrow(expect.objectContaining({ code: 'policy_error' }));
    expect(() => engine.grant(input())).toThrow(expect.objectContaining({ code: 'policy_error' }));
  });

  it('provides time.now_ns, equal to the input clock', async () => {
    const engine = await engineFor('clock');
    expect(engine.decide(input({ now_ns: 1_234_000_000 })).allow).toBe(true);
    expect(engine.decide(input({ now_ns: 5_678_000_000 })).allow).toBe(true);
  });
});
