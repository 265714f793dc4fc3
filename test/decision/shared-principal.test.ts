import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import type { DecideRequest } from '../../src/decision/types.ts';
import { MemorySharedUse } from '../../src/shared-use/memory.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

function call(token: string, tool: string): DecideRequest {
  return {
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: tool, arguments: { path: '/srv/data/a.txt' } } },
  };
}

describe('a shared principal is visible to the policy, the audit trail and the metrics', () => {
  let t: TestCore;
  let deps: CoreDeps;
  let crossings: number;
  beforeEach(async () => {
    t = await createTestCore();
    crossings = 0;
    deps = {
      ...t.deps,
      sharedUse: new MemorySharedUse({
        window_seconds: 3600,
        clients: 3,
        workloads: 3,
        chains: 3,
        max_principals: 10,
      }),
      observe: { decision: () => undefined, sharedPrincipal: () => crossings++ },
    };
  });
  const adminVia = (client: string) => t.idp.mint({ client_id: client, roles: ['admin'] }, { subject: 'svc-ops' });

  it('below the threshold: not shared, destructive tools allowed', async () => {
    for (const client of ['app-1', 'app-2']) {
      expect((await decide(deps, call(await adminVia(client), 'fs_delete'), PEP)).allow).toBe(true);
    }
    expect(t.audit.saved.map((r) => r.kind)).toEqual(['decision', 'decision']);
    expect(t.audit.saved.every((r) => r.detail?.shared === undefined)).toBe(true);
    expect(crossings).toBe(0);
  });

  it('at the threshold: audited once as principal.shared, counted, and refused destructive tools', async () => {
    for (const client of ['app-1', 'app-2']) await decide(deps, call(await adminVia(client), 'fs_read'), PEP);
    t.audit.saved.length = 0;
    const third = await decide(deps, call(await adminVia('app-3'), 'fs_delete'), PEP);
    expect(codes(third)).toEqual(['shared_principal_destructive']);
    expect(t.audit.saved.map((r) => r.kind)).toEqual(['principal.shared', 'decision']);
    const usage = { clients: 3, workloads: 0, chains: 1, window_seconds: 3600 };
    expect(t.audit.saved[0]).toMatchObject({
      principal: { sub: 'svc-ops', client_id: 'app-3' },
      decision_id: third.decision_id,
      detail: { usage },
    });
    expect(t.audit.saved[1]!.detail).toMatchObject({ shared: usage });
    expect(crossings).toBe(1);
    // Still shared: reads go on, deletes stay refused from any client, and the event is not repeated.
    expect((await decide(deps, call(await adminVia('app-1'), 'fs_read'), PEP)).allow).toBe(true);
    expect(codes(await decide(deps, call(await adminVia('app-1'), 'fs_delete'), PEP))).toEqual([
      'shared_principal_destructive',
    ]);
    expect(t.audit.saved.filter((r) => r.kind === 'principal.shared')).toHaveLength(1);
    expect(crossings).toBe(1);
  });

  it('an hour later the old clients no longer count', async () => {
    for (const client of ['app-1', 'app-2', 'app-3']) await decide(deps, call(await adminVia(client), 'fs_read'), PEP);
    t.clock.advance(3_600_001);
    expect((await decide(deps, call(await adminVia('app-1'), 'fs_delete'), PEP)).allow).toBe(true);
  });
});
