import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/identity/actor.ts';
import type { Principal } from '../../src/identity/principal.ts';
import { SharedUseTracker, type SharedUseConfig } from '../../src/identity/shared-use.ts';
import { FakeClock } from '../helpers/core.ts';

const CONFIG: SharedUseConfig = { window_seconds: 600, clients: 3, workloads: 2, chains: 3, max_principals: 100 };

function principal(clientId: string | null, actor: readonly Partial<Actor>[] = [], sub = 'svc-reports'): Principal {
  return {
    iss: 'https://idp.example',
    sub,
    client_id: clientId,
    scopes: [],
    roles: [],
    dropped_roles: [],
    dropped_scopes: [],
    spiffe_id: null,
    kind: 'user',
    actor: actor.map((a) => ({
      iss: 'https://idp.example',
      sub: a.sub ?? 'agent',
      client_id: null,
      spiffe_id: a.spiffe_id ?? null,
      attested: false,
    })),
    may_act: null,
    claims: {},
  };
}

describe('shared principals: distinct clients, workloads and chains within a window', () => {
  it('is shared at the client threshold, not below it, and says so once', () => {
    const clock = new FakeClock();
    const tracker = new SharedUseTracker(CONFIG);
    const a = tracker.observe(principal('app-1'), clock.now);
    expect(a).toMatchObject({ shared: false, clients: 1, chains: 1, became_shared: false });
    clock.advance(1_000);
    expect(tracker.observe(principal('app-2'), clock.now)).toMatchObject({ shared: false, clients: 2 });
    // The same client again is no new client.
    expect(tracker.observe(principal('app-2'), clock.now)).toMatchObject({ shared: false, clients: 2 });
    clock.advance(1_000);
    expect(tracker.observe(principal('app-3'), clock.now)).toMatchObject({
      shared: true,
      clients: 3,
      became_shared: true,
      window_seconds: 600,
    });
    expect(tracker.observe(principal('app-1'), clock.now)).toMatchObject({ shared: true, became_shared: false });
    // Another subject is counted apart.
    expect(tracker.observe(principal('app-9', [], 'alice'), clock.now)).toMatchObject({ shared: false, clients: 1 });
  });

  it('forgets a value the window no longer covers, and becomes shared again on a new crossing', () => {
    const clock = new FakeClock();
    const tracker = new SharedUseTracker(CONFIG);
    tracker.observe(principal('app-1'), clock.now);
    clock.advance(300_000);
    tracker.observe(principal('app-2'), clock.now);
    clock.advance(300_000);
    // app-1 was seen exactly one window ago: it no longer counts.
    expect(tracker.observe(principal('app-3'), clock.now)).toMatchObject({ shared: false, clients: 2 });
    clock.advance(1);
    expect(tracker.observe(principal('app-4'), clock.now)).toMatchObject({ shared: true, became_shared: true });
    clock.advance(601_000);
    expect(tracker.observe(principal('app-4'), clock.now)).toMatchObject({ shared: false, clients: 1 });
    tracker.observe(principal('app-5'), clock.now);
    expect(tracker.observe(principal('app-6'), clock.now)).toMatchObject({ shared: true, became_shared: true });
  });

  it('counts agent workloads and actor chains, each at its own threshold', () => {
    const clock = new FakeClock();
    const tracker = new SharedUseTracker(CONFIG);
    const agent = (n: number) => ({
      sub: `spiffe://example.org/agent-${n}`,
      spiffe_id: `spiffe://example.org/agent-${n}`,
    });
    expect(tracker.observe(principal('app', [agent(1)]), clock.now)).toMatchObject({
      shared: false,
      workloads: 1,
      chains: 1,
    });
    expect(tracker.observe(principal('app', [agent(2)]), clock.now)).toMatchObject({
      shared: true,
      workloads: 2,
      chains: 2,
      became_shared: true,
    });
    const chains = new SharedUseTracker({ ...CONFIG, workloads: 0 });
    chains.observe(principal('app'), clock.now);
    chains.observe(principal('app', [{ sub: 'researcher' }]), clock.now);
    expect(chains.observe(principal('app', [{ sub: 'researcher' }]), clock.now)).toMatchObject({ shared: false });
    expect(chains.observe(principal('app', [{ sub: 'mailer' }, { sub: 'researcher' }]), clock.now)).toMatchObject({
      shared: true,
      chains: 3,
      workloads: 0,
    });
  });

  it('counts nothing for a threshold of 0, and keeps its memory bounded', () => {
    const clock = new FakeClock();
    const off = new SharedUseTracker({ ...CONFIG, clients: 0, workloads: 0, chains: 0 });
    for (let i = 0; i < 50; i++) {
      expect(off.observe(principal(`app-${i}`, [{ sub: `a-${i}` }]), clock.now).shared).toBe(false);
    }
    const small = new SharedUseTracker({ ...CONFIG, max_principals: 2 });
    small.observe(principal('app-1', [], 'p1'), clock.now);
    small.observe(principal('app-2', [], 'p1'), clock.now);
    small.observe(principal('app-1', [], 'p2'), clock.now);
    small.observe(principal('app-1', [], 'p3'), clock.now);
    // p1 was the least recently seen: forgotten, it starts again from one client.
    expect(small.observe(principal('app-3', [], 'p1'), clock.now)).toMatchObject({ clients: 1, shared: false });
  });
});
