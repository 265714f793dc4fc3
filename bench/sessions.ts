// `npm run bench` (third part): what the session store costs a decision — get + touch,
// memory against Redis on loopback — and what 100k live sessions weigh in memory (and,
// for comparison, in Redis). About 15 s. Run with --expose-gc for steady memory figures.
// Prints a Markdown summary and writes it as JSON to bench/results/sessions-latest.json.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { hashSessionId, newSessionId } from '../src/session/ids.ts';
import { MemorySessionStore } from '../src/session/memory-store.ts';
import type { SessionRecord, SessionStore } from '../src/session/record.ts';
import { RedisSessionStore } from '../src/session/redis-store.ts';
import { startRedisServer } from '../test/helpers/redis.ts';

const ITERATIONS = 20_000;
const WARMUP = 2_000;
/** Sessions the latency loop cycles through, so it is not one hot key. */
const POOL = 1_000;
const SESSIONS = 100_000;
const AIMS = { redisAddsP50Us: 150, memoryFor100kMb: 100 } as const;
const RESULTS = fileURLToPath(new URL('./results/sessions-latest.json', import.meta.url));
const RETAIN_MS = 3_600_000;

/** A record as `createSession` makes one: fresh id, owner, sorted scope and a small context. */
function realisticRecord(i: number, now: number): SessionRecord {
  return {
    id_hash: hashSessionId(newSessionId('mcp-session')),
    kind: 'mcp-session',
    owner: {
      iss: 'https://idp.example.com/realms/prod',
      sub: `user-${i}-${(i * 7919) % 100_000}`,
      client_id: `mcp-client-${i % 50}`,
      spiffe_id: null,
    },
    created_by: 'gateway-1',
    server: 'https://mcp.example.com/files',
    parent: null,
    scope: ['fs_read', 'fs_list', 'fs_search', 'fs_stat', 'fs_write'].sort(),
    context: { ip: `203.0.113.${i % 256}`, user_agent: 'claude-desktop/1.2 (mcp-sdk 1.29)' },
    created_at: now,
    last_seen_at: now,
    idle_expires_at: now + 3_600_000,
    expires_at: now + 8 * 3_600_000,
    revoked_at: null,
    version: 1,
  };
}

function settle(): void {
  globalThis.gc?.();
  globalThis.gc?.();
}

const MB = 1024 * 1024;

/** Heap and RSS growth of the memory store holding `SESSIONS` live records. */
async function memoryFootprint(): Promise<{ heap_mb: number; rss_mb: number; bytes_per_session: number }> {
  settle();
  const before = process.memoryUsage();
  const store = new MemorySessionStore({ sweepIntervalMs: 60_000, retainMs: RETAIN_MS });
  const now = Date.now();
  for (let i = 0; i < SESSIONS; i += 1) await store.insert(realisticRecord(i, now));
  settle();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  if (store.size !== SESSIONS) throw new Error('the store lost records');
  return {
    heap_mb: round(heap / MB),
    rss_mb: round((after.rss - before.rss) / MB),
    bytes_per_session: Math.round(heap / SESSIONS),
  };
}

/** Redis `used_memory` growth for the same records. */
async function redisFootprint(url: string): Promise<number> {
  const admin = new Redis(url);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
  const store = new RedisSessionStore({
    url,
    keyPrefix: 'bench:mem:',
    commandTimeoutMs: 5_000,
    retainMs: RETAIN_MS,
    sweepIntervalMs: 3_600_000,
  });
  await store.start();
  const before = await usedMemory();
  const now = Date.now();
  for (let i = 0; i < SESSIONS; i += 1_000) {
    await Promise.all(Array.from({ length: 1_000 }, (_, j) => store.insert(realisticRecord(i + j, now))));
  }
  const grown = (await usedMemory()) - before;
  await admin.flushdb();
  await store.stop();
  admin.disconnect();
  return round(grown / MB);
}

interface Latency {
  readonly store: string;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly get_p50_us: number;
  readonly touch_p50_us: number;
}

/** p50 of a bare PING: the round trip no Redis store can avoid, twice per decision. */
async function pingP50(url: string): Promise<number> {
  const client = new Redis(url);
  const times: number[] = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
    const t0 = process.hrtime.bigint();
    await client.ping();
    if (i >= WARMUP) times.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  client.disconnect();
  return pct(times, 0.5);
}

/** Sequential get + touch, the two store calls an allowed decision makes. */
async function latency(name: string, store: SessionStore): Promise<Latency> {
  const now = Date.now();
  const hashes: string[] = [];
  for (let i = 0; i < POOL; i += 1) {
    const record = realisticRecord(i, now);
    await store.insert(record);
    hashes.push(record.id_hash);
  }
  const pair: number[] = [];
  const get: number[] = [];
  const touch: number[] = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
    const hash = hashes[i % POOL]!;
    const t0 = process.hrtime.bigint();
    const record = await store.get(hash);
    const t1 = process.hrtime.bigint();
    await store.touch(hash, Date.now());
    const t2 = process.hrtime.bigint();
    if (record === undefined) throw new Error('a session went missing');
    if (i < WARMUP) continue;
    get.push(Number(t1 - t0) / 1e3);
    touch.push(Number(t2 - t1) / 1e3);
    pair.push(Number(t2 - t0) / 1e3);
  }
  return {
    store: name,
    p50_us: pct(pair, 0.5),
    p99_us: pct(pair, 0.99),
    get_p50_us: pct(get, 0.5),
    touch_p50_us: pct(touch, 0.5),
  };
}

function pct(values: number[], p: number): number {
  const sorted = values.sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

if (globalThis.gc === undefined) console.log('(run with --expose-gc for steadier memory figures)');
console.log(`Memory store with ${SESSIONS.toLocaleString('en-US')} live sessions…`);
const memory = await memoryFootprint();

const server = await startRedisServer();
let rows: Latency[];
let redisMb: number;
let pingUs: number;
try {
  console.log(
    `get + touch, ${ITERATIONS.toLocaleString('en-US')} sequential ` +
      `iterations after ${WARMUP.toLocaleString('en-US')} of warm-up…`,
  );
  const mem = new MemorySessionStore({ sweepIntervalMs: 60_000, retainMs: RETAIN_MS });
  await mem.start();
  const redis = new RedisSessionStore({
    url: server.url,
    keyPrefix: 'bench:lat:',
    commandTimeoutMs: 5_000,
    retainMs: RETAIN_MS,
    sweepIntervalMs: 3_600_000,
  });
  await redis.start();
  rows = [await latency('memory', mem), await latency('redis (loopback)', redis)];
  pingUs = await pingP50(server.url);
  await mem.stop();
  await redis.stop();
  console.log(`Redis used_memory with ${SESSIONS.toLocaleString('en-US')} sessions…`);
  redisMb = await redisFootprint(server.url);
} finally {
  await server.stop();
}

const [m, r] = rows as [Latency, Latency];
// decide() awaits the get; it sends the touch without waiting for it (a lost touch only
// shortens a session), so the get is what Redis adds to a decision's latency.
const addsUs = round(r.get_p50_us - m.get_p50_us);
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
const redisAdds =
  `- Redis adds **${addsUs} µs** p50 to a decision's latency (the awaited get; the touch is not awaited) ` +
  `— aim ≤ ${AIMS.redisAddsP50Us} µs: ${verdict(addsUs <= AIMS.redisAddsP50Us)}`;
const redisFloor =
  `  (floor on this machine: one loopback round trip, bare PING p50 ${pingUs} µs; ` +
  `get + touch together: ${round(r.p50_us - m.p50_us)} µs of store work)`;
const memoryHeap =
  `- ${SESSIONS.toLocaleString('en-US')} live sessions in memory: heap +${memory.heap_mb} MB ` +
  `(${memory.bytes_per_session} B each) — aim ≤ ${AIMS.memoryFor100kMb} MB: ` +
  verdict(memory.heap_mb <= AIMS.memoryFor100kMb);
console.log(`
## Session store

| store | get + touch p50 (µs) | p99 (µs) | get p50 | touch p50 |
|---|---:|---:|---:|---:|
${rows.map((x) => `| ${x.store} | ${x.p50_us} | ${x.p99_us} | ${x.get_p50_us} | ${x.touch_p50_us} |`).join('\n')}

${redisAdds}
${redisFloor}
${memoryHeap}
  (RSS +${memory.rss_mb} MB: it also counts the young generation V8 grew for the burst of allocations and keeps)
- the same in Redis: used_memory +${redisMb} MB (records, indexes and cleanup set)
`);
const results = {
  generated_at: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  node: process.version,
  gc: globalThis.gc !== undefined,
  aims: AIMS,
  latency: rows,
  redis_adds_p50_us: addsUs,
  ping_p50_us: pingUs,
  memory_100k: memory,
  redis_100k_mb: redisMb,
};
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
console.log(`(written to ${RESULTS})`);
