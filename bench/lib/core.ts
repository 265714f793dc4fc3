import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditSink } from '../../src/audit/create-sink.ts';
import { maskRules } from '../../src/audit/mask.ts';
import type { AuditSink } from '../../src/audit/record.ts';
import { auditConfigSchema } from '../../src/config/audit.ts';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import type { CoreDeps } from '../../src/decision/deps.ts';
import { createSession } from '../../src/decision/sessions.ts';
import type { Caller, DecideRequest } from '../../src/decision/types.ts';
import { createTokenVerifier } from '../../src/identity/verifier.ts';
import { ActivePolicy } from '../../src/policy/active.ts';
import { readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine } from '../../src/policy/engine.ts';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import { BENCH_SERVER, createBenchIssuer } from './issuer.ts';
import { NullAuditSink } from './null-sink.ts';
import { toolCallRequest } from './request.ts';

export const BENCH_CALLER: Caller = { id: 'bench-pep', role: 'pep' };

/** The embedded default wiring (as in src/service.ts), plus one allowed request and a cleanup. */
export interface BenchCore {
  readonly deps: CoreDeps;
  readonly request: DecideRequest;
  close(): Promise<void>;
}

/** Which audit sink the core writes to (default `file`, the embedded default). */
export interface BenchCoreOptions {
  /** `off`: a sink that accepts every record at once and keeps nothing (bench/lib/null-sink.ts). */
  readonly audit?: 'off' | 'file' | 'postgres';
  /** Needed with `audit: 'postgres'`. */
  readonly postgresUrl?: string;
}

export async function createBenchCore(options: BenchCoreOptions = {}): Promise<BenchCore> {
  const issuer = await createBenchIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const kind = options.audit ?? 'file';
  if (kind === 'postgres' && options.postgresUrl === undefined)
    throw new TypeError("audit: 'postgres' needs postgresUrl");
  // The configured sink, configured as the service configures it (the embedded file default unless told).
  const auditConfig = auditConfigSchema.parse({
    file: join(dir, 'audit.jsonl'),
    checkpoint_key_file: join(dir, 'checkpoint.jwk.json'),
    ...(kind === 'postgres' ? { sink: 'postgres', postgres: { url: options.postgresUrl } } : {}),
  });
  const audit: AuditSink = kind === 'off' ? new NullAuditSink() : (await createAuditSink(auditConfig)).sink;
  const sessions = new MemorySessionStore({ sweepIntervalMs: 60_000, retainMs: 3_600_000 });
  const close = async () => {
    await sessions.stop();
    await audit.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const engine = await loadPolicyEngine(await readBundleFile(DEFAULT_BUNDLE, 64 << 20));
    await audit.start();
    await sessions.start();
    const deps: CoreDeps = {
      verifier: createTokenVerifier({ issuers: [issuer.config], cacheSize: 10_000, maxTokenBytes: 8192 }),
      sessions,
      policy: new ActivePolicy(engine),
      audit,
      mask: maskRules(auditConfig.mask_keys, auditConfig.mask_pointers),
      clock: Date.now,
      stateKey: new Uint8Array(randomBytes(32)),
      limits: { maxTtlSeconds: 8 * 3600, maxIdleSeconds: 3600 },
    };
    const token = await issuer.mint();
    const session = await createSession(deps, { token, server: BENCH_SERVER }, BENCH_CALLER);
    if (session.id === undefined) throw new Error('createSession returned no id');
    return { deps, request: toolCallRequest(token, session.id), close };
  } catch (err) {
    await close();
    throw err;
  }
}
