import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  devConfig,
  during,
  fileTrail,
  judge,
  PHASES,
  readCall,
  startLoad,
  startWarden,
  verifyTrailCli,
  type Answer,
  type Phases,
  type Request,
  type ScenarioResult,
} from './faults-harness.ts';
import { createTestKey, signToken, type TestKey } from './tokens.ts';

const ISSUER = 'https://idp.fault.example';
/** The JWKS fetch timeout of the service under test; the slow endpoint answers far later. */
const JWKS_TIMEOUT_MS = 300;
const SLOW_MS = 5_000;

/** A JWKS endpoint on a fixed loopback port that can turn slow, or go down and come back. */
interface FlakyJwks {
  readonly url: string;
  delayMs: number;
  down(): Promise<void>;
  up(): Promise<void>;
}

async function startFlakyJwks(key: TestKey): Promise<FlakyJwks & { close(): Promise<void> }> {
  const state = { delayMs: 0 };
  const make = (): Server =>
    createServer((_req, res) => {
      const answer = () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [key.publicJwk] }));
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs).unref();
      else answer();
    });
  let server = make();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    down: close,
    up: async () => {
      server = make();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close,
  });
}

/**
 * Tokens of a remote-JWKS issuer: a few "warm" ones used from the start (so the token
 * cache holds them), "fresh" ones each used once (so each needs the issuer's keys), and
 * forgeries (an attacker's key under the issuer's kid; an unknown kid).
 */
async function tokenMix(key: TestKey): Promise<() => Request> {
  const attacker = await createTestKey('ES256', key.kid);
  const stranger = await createTestKey('ES256', 'k-unknown');
  const mint = (k: TestKey, claims: Record<string, unknown> = {}) =>
    signToken(k, { roles: ['reader'], ...claims }, { issuer: ISSUER, now: Date.now(), expiresIn: 900 });
  const warm = await Promise.all([0, 1, 2, 3].map((i) => mint(key, { jti: `warm-${i}` })));
  const fresh = await Promise.all(Array.from({ length: 6_000 }, (_, i) => mint(key, { jti: `fresh-${i}` })));
  const forged = [await mint(attacker), await mint(stranger)];
  let i = 0;
  return () => {
    i += 1;
    if (i % 8 === 0)
      return { kind: 'bad', path: '/v1/decide', body: readCall(forged[(i / 8) % 2] as string), tag: 'forged' };
    if (i % 2 === 0)
      return { kind: 'good', path: '/v1/decide', body: readCall(warm[i % warm.length] as string), tag: 'warm' };
    return {
      kind: 'good',
      path: '/v1/decide',
      body: readCall(fresh.pop() ?? (warm[0] as string)),
      tag: fresh.length > 0 ? 'fresh' : 'warm',
    };
  };
}

type Mode = 'slow' | 'down';

async function jwksFault(mode: Mode, phases: Phases): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), `mcp-warden-fault-jwks-${mode}-`));
  const key = await createTestKey('ES256', 'k1');
  const jwks = await startFlakyJwks(key);
  const issuer = {
    issuer: ISSUER,
    jwks_uri: jwks.url,
    jwks_timeout_ms: JWKS_TIMEOUT_MS,
    jwks_cooldown_seconds: 0,
    jwks_max_age_seconds: 1,
    algorithms: ['ES256'],
  };
  const w = await startWarden({
    dir,
    config: { ...devConfig(dir, { identity: { issuers: [issuer] } }), server: { dev: false } },
  });
  try {
    const next = await tokenMix(key);
    const load = startLoad(() => w.url, next, 4);
    await sleep(phases.beforeMs);
    const faultStart = performance.now();
    if (mode === 'slow') jwks.delayMs = SLOW_MS;
    else await jwks.down();
    await sleep(phases.faultMs);
    if (mode === 'slow') jwks.delayMs = 0;
    else await jwks.up();
    const faultEnd = performance.now();
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await w.stop();
    const verdict = await verifyTrailCli(dir);
    const inFault = (a: Answer) => during(a, faultStart, faultEnd);
    const warmInFault = answers.filter((a) => a.tag === 'warm' && inFault(a));
    const freshInFault = answers.filter((a) => a.tag === 'fresh' && inFault(a));
    const slowest = Math.max(0, ...answers.filter(inFault).map((a) => a.t1 - a.t0));
    const waitless = mode === 'slow' ? ' after the fetch timeout, never waiting for the endpoint' : '';
    const noWait =
      'no decision waited for the slow endpoint ' +
      `(slowest ${Math.round(slowest)} ms, timeout ${JWKS_TIMEOUT_MS} ms)`;
    return judge({
      name:
        mode === 'slow'
          ? `JWKS endpoint slow (${SLOW_MS} ms, timeout ${JWKS_TIMEOUT_MS} ms)`
          : 'JWKS endpoint down (connection refused)',
      expectation:
        'tokens already verified keep working (token cache); a token that needs the keys once they are older ' +
        `than jwks_max_age (1 s) is denied jwks_unavailable${waitless}; forgeries are never allowed; ` +
        'fresh tokens verify again once the endpoint is back',
      answers,
      judgement: {
        faultStart,
        faultEnd,
        // Fresh tokens during the fault may be denied jwks_unavailable: the documented fail-closed answer.
        expected: (a) => a.tag === 'fresh' && a.code === 'jwks_unavailable' && a.t0 < faultEnd + 2_000,
        trail: fileTrail(join(dir, 'audit.jsonl')),
        recovered: (a) => a.tag === 'fresh' && a.allow === true,
      },
      checks: {
        'cached (warm) tokens allowed throughout the fault':
          warmInFault.length > 0 && warmInFault.every((a) => a.allow === true),
        'fresh tokens denied jwks_unavailable during the fault': freshInFault.some(
          (a) => a.code === 'jwks_unavailable',
        ),
        // Far below the endpoint's delay: the timeout cut the wait (slack for a loaded machine).
        ...(mode === 'slow'
          ? {
              [noWait]: slowest < JWKS_TIMEOUT_MS + 2_000,
            }
          : {}),
        'audit verify passes afterwards': verdict.ok,
      },
      notes: [`slowest answer during the fault ${Math.round(slowest)} ms`],
    });
  } finally {
    await w.kill9();
    await jwks.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The issuer's JWKS endpoint answers only after 5 s, far past the fetch timeout. */
export const jwksSlow = (phases: Phases = PHASES) => jwksFault('slow', phases);
/** The issuer's JWKS endpoint refuses connections, then comes back on the same port. */
export const jwksDown = (phases: Phases = PHASES) => jwksFault('down', phases);
