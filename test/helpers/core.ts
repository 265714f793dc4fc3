import { randomBytes } from 'node:crypto';
import type { CoreDeps } from '../../src/decision/deps.ts';
import type { Caller } from '../../src/decision/types.ts';
import type { UpstreamIdentitySigner } from '../../src/decision/upstream-identity.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { ActivePolicy } from '../../src/policy/active.ts';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine, type PolicyEngine } from '../../src/policy/engine.ts';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import { MemoryAuditSink } from './audit.ts';
import { maskRules } from '../../src/audit/mask.ts';
import { DEFAULT_MASK_KEYS } from '../../src/config/audit.ts';
import { createTestIdp, type TestIdp } from './tokens.ts';

export const PEP: Caller = { id: 'pep-1', role: 'pep' };

/** A clock tests move by hand. */
export class FakeClock {
  now = Date.UTC(2026, 10, 23, 12, 0, 0);
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

let defaultEngine: Promise<PolicyEngine> | undefined;

/** The committed default bundle, loaded once per test file. */
export function loadDefaultEngine(): Promise<PolicyEngine> {
  defaultEngine ??= readBundleFile(DEFAULT_BUNDLE, 64 << 20).then(loadPolicyEngine);
  return defaultEngine;
}

export interface TestCore {
  deps: CoreDeps;
  idp: TestIdp;
  audit: MemoryAuditSink;
  sessions: MemorySessionStore;
  clock: FakeClock;
}

/** Core deps over the default bundle, an in-memory store and sink, and a fake clock. */
export async function createTestCore(
  options: { engine?: PolicyEngine | null; upstreamIdentity?: UpstreamIdentitySigner } = {},
): Promise<TestCore> {
  const clock = new FakeClock();
  const idp = await createTestIdp(undefined, clock.read);
  const audit = new MemoryAuditSink();
  const sessions = new MemorySessionStore({ sweepIntervalMs: 60_000, retainMs: 3_600_000, now: clock.read });
  const engine = options.engine === undefined ? await loadDefaultEngine() : options.engine;
  const deps: CoreDeps = {
    verifier: createTokenVerifier({ issuers: [idp.issuer], cacheSize: 100, maxTokenBytes: 8192, now: clock.read }),
    sessions,
    policy: new ActivePolicy(engine ?? undefined),
    audit,
    mask: maskRules(DEFAULT_MASK_KEYS, []),
    clock: clock.read,
    stateKey: new Uint8Array(randomBytes(32)),
    limits: { maxTtlSeconds: 8 * 3600, maxIdleSeconds: 3600 },
    upstreamIdentity: options.upstreamIdentity,
  };
  return { deps, idp, audit, sessions, clock };
}
