import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  decideMix,
  devConfig,
  devToken,
  during,
  fileTrail,
  judge,
  PHASES,
  readCall,
  deleteCall,
  SERVER,
  startLoad,
  startWarden,
  verifyTrailCli,
  watchHealth,
  type Answer,
  type Phases,
  type Request,
  type ScenarioResult,
} from './faults-harness.ts';
import { startPostgresServer } from './postgres.ts';
import { startRedisServer } from './redis.ts';

/**
 * redis-server (the shared session store) is killed with SIGKILL under load, left down,
 * then started again empty (no persistence, as after losing the node). The load creates
 * sessions and decides with them; a session of the old Redis must stay dead.
 */
export async function redisKilled(phases: Phases = PHASES): Promise<ScenarioResult> {
  const redis = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-redis-'));
  const w = await startWarden({
    dir,
    config: devConfig(dir, {
      session: { store: 'redis', redis: { url: redis.url, command_timeout_ms: 300 }, max_per_principal: 0 },
    }),
  });
  try {
    const token = await devToken(w.url);
    // Sessions by Redis generation: 0 before the kill, 1 after the restart.
    let generation = 0;
    const pools: string[][] = [[], []];
    let i = 0;
    const next = (): Request => {
      i += 1;
      const pool = pools[generation] as string[];
      const gen = generation;
      if (pool.length < 4 || i % 16 === 0) {
        return {
          kind: 'good',
          path: '/v1/sessions',
          body: { token, server: SERVER },
          tag: `create-${gen}`,
          after: (a) => void (a.sessionId && (pools[gen] as string[]).push(a.sessionId)),
        };
      }
      // Some requests keep using sessions of the old Redis after the restart: they must be dead.
      const from = gen === 1 && i % 5 === 0 && (pools[0] as string[]).length > 0 ? 0 : gen;
      const session = (pools[from] as string[])[i % (pools[from] as string[]).length] as string;
      if (i % 8 === 4)
        return { kind: 'bad', path: '/v1/decide', body: deleteCall(token, session), tag: `session-${from}` };
      return { kind: 'good', path: '/v1/decide', body: readCall(token, session), tag: `session-${from}` };
    };
    const health = watchHealth(() => w.url);
    const load = startLoad(() => w.url, next, 4);
    await sleep(phases.beforeMs);
    await redis.kill9();
    const faultStart = performance.now();
    await sleep(phases.faultMs);
    const restartBegin = performance.now();
    await redis.restart();
    generation = 1;
    const faultEnd = performance.now();
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await health.stop();
    await w.stop();
    const verdict = await verifyTrailCli(dir);
    const down = (a: Answer) => a.t0 >= faultStart && a.t1 <= restartBegin;
    const old = (a: Answer) => a.tag === 'session-0' && a.t0 >= faultEnd;
    return judge({
      name: 'redis-server killed (SIGKILL) and restarted empty',
      expectation:
        'while Redis is down every decision presenting a session is denied session_store_unavailable ' +
        'and session routes answer 503 (never an allow); after it returns, new sessions work ' +
        'without restarting mcp-warden and sessions of the lost Redis are session_unknown',
      answers,
      judgement: {
        faultStart,
        faultEnd,
        mustDeny: (a) => down(a) || old(a),
        expected: (a) =>
          a.code === 'session_store_unavailable' ||
          (old(a) && a.code === 'session_unknown') ||
          (a.tag?.startsWith('create') === true && a.status === 503 && during(a, faultStart - 500, faultEnd + 5_000)),
        trail: fileTrail(join(dir, 'audit.jsonl')),
        recovered: (a) => a.tag === 'session-1' && a.allow === true,
      },
      checks: {
        'denied session_store_unavailable while down': answers.some(
          (a) => down(a) && a.code === 'session_store_unavailable',
        ),
        'session creation 503 while down': answers.some(
          (a) => down(a) && a.tag?.startsWith('create') === true && a.status === 503,
        ),
        '/health 503 while down': health.seen.some((h) => h.t >= faultStart && h.t < restartBegin && h.status === 503),
        'sessions of the lost Redis stay dead': answers.filter(old).every((a) => a.allow !== true),
        'audit verify passes afterwards': verdict.ok,
      },
    });
  } finally {
    await w.kill9();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * PostgreSQL (the shared audit sink) is stopped (fast shutdown) under load, then started
 * again on the same data.
 */
export async function postgresStopped(phases: Phases = PHASES): Promise<ScenarioResult> {
  const db = await startPostgresServer();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-pg-'));
  const w = await startWarden({
    dir,
    config: devConfig(dir, { audit: { sink: 'postgres', postgres: { url: db.url } } }),
  });
  try {
    const token = await devToken(w.url);
    const health = watchHealth(() => w.url);
    const load = startLoad(() => w.url, decideMix(token), 4);
    await sleep(phases.beforeMs);
    await db.halt();
    const faultStart = performance.now();
    await sleep(phases.faultMs);
    const restartBegin = performance.now();
    await db.restart();
    const faultEnd = performance.now();
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await health.stop();
    await w.stop();
    const verdict = await verifyTrailCli(dir);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ id: string | null }>(
      "SELECT record->>'decision_id' AS id FROM mcp_warden_audit",
    );
    await client.end();
    const trail = new Set(rows.map((r) => r.id).filter((id): id is string => id !== null));
    const down = (a: Answer) => a.t0 >= faultStart && a.t1 <= restartBegin;
    return judge({
      name: 'PostgreSQL (audit sink) stopped and restarted',
      expectation:
        'while the database is down decisions deny audit_unavailable (no allow without ' +
        'its record) and /health is 503; after it returns the same process allows again, ' +
        'and every answered decision is in the table, whose chain verifies',
      answers,
      judgement: { faultStart, faultEnd, mustDeny: down, expected: (a) => a.code === 'audit_unavailable', trail },
      checks: {
        'denied audit_unavailable while down': answers.some((a) => down(a) && a.code === 'audit_unavailable'),
        '/health 503 while down': health.seen.some((h) => h.t >= faultStart && h.t < restartBegin && h.status === 503),
        'audit verify passes afterwards': verdict.ok,
      },
      notes: [`audit verify: ${verdict.output.split('\n').at(-1)}`],
    });
  } finally {
    await w.kill9();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
