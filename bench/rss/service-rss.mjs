// Runs in the child of bench/rss.ts, on the compiled service (no TypeScript stripping):
// the RSS of a ready service, then with SESSIONS live sessions created through the API.
//   node --expose-gc bench/rss/service-rss.mjs <dist dir> <work dir> <sessions>
import { join, resolve } from 'node:path';

const [dist, dir, count] = process.argv.slice(2);
const sessions = Number(count);
const { loadConfig } = await import(join(resolve(dist), 'config/load.js'));
const { createService } = await import(join(resolve(dist), 'service.js'));
const SERVER = 'https://mcp.example.com/files';
const PER_PRINCIPAL = 100;

const mb = (n) => Math.round((n / 1048576) * 10) / 10;
function sample() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return {
    rss_mb: mb(m.rss),
    heap_used_mb: mb(m.heapUsed),
    heap_total_mb: mb(m.heapTotal),
    external_mb: mb(m.external),
  };
}

const config = loadConfig({
  env: {},
  overrides: {
    server: { dev: true, dev_key_file: join(dir, 'dev.json'), log_level: 'silent' },
    policy: { bundle: resolve('bundles/default.tar.gz'), watch: false },
    audit: { file: join(dir, 'audit.jsonl'), checkpoint_key_file: join(dir, 'checkpoint.json') },
    session: { max_per_principal: PER_PRINCIPAL },
  },
});
const app = await createService(config);
await app.ready();
const ready = sample();

const started = Date.now();
let token = '';
for (let i = 0; i < sessions; i++) {
  // One principal per 100 sessions: the per-principal limit stays on.
  if (i % PER_PRINCIPAL === 0) {
    const minted = await app.inject({
      method: 'POST',
      url: '/v1/dev/token',
      payload: { sub: `user-${i / PER_PRINCIPAL}`, roles: ['reader'], server: SERVER, ttl_seconds: 7200 },
    });
    token = minted.json().token;
  }
  const created = await app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: SERVER } });
  if (created.statusCode !== 201) throw new Error(`session ${i}: ${created.statusCode} ${created.body}`);
  if (process.env.RSS_PROGRESS && (i + 1) % 10_000 === 0)
    process.stderr.write(`${i + 1}: ${JSON.stringify(sample())}\n`);
}
const createSeconds = (Date.now() - started) / 1000;
const loaded = sample();
// V8 gives pages back to the system when the process idles (its memory reducer): the
// steady state of a service between bursts.
await new Promise((r) => setTimeout(r, 10_000));
const idle = sample();
process.stdout.write(`${JSON.stringify({ sessions, ready, loaded, idle, create_seconds: createSeconds })}\n`);
await app.close();
