// RSS of the service as it is deployed (the compiled dist/, as the Docker image runs it):
// ready, and with 100,000 live sessions in the memory store created through the API.
//   node bench/rss.ts [--sessions 100000] [--node-flags "--max-semi-space-size=8"]
// The flags are those the Docker image sets (NODE_OPTIONS); pass --node-flags "" for Node's defaults.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    'node-flags': { type: 'string', default: '--max-semi-space-size=8' },
  },
});
const nodeFlags = values['node-flags'].split(' ').filter(Boolean);
const AIM_MB = 200;

// Compiled into var/ so that the child resolves node_modules from the repository.
const dist = join(ROOT, 'var/bench-dist');
execFileSync(
  process.execPath,
  [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dist],
  { stdio: 'inherit' },
);
const dir = mkdtempSync(join(tmpdir(), 'warden-rss-'));
try {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', ...nodeFlags, join(ROOT, 'bench/rss/service-rss.mjs'), dist, dir, values.sessions],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
    sessions: number;
    create_seconds: number;
    ready: Record<string, number>;
    loaded: Record<string, number>;
    idle: Record<string, number>;
  };
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, Node ${process.version}, ` +
      `flags "${nodeFlags.join(' ')}"; the compiled service (dist/), memory store, file audit, after two full GCs\n`,
  );
  console.log('| state | RSS MB | heap used MB | heap total MB | external MB |');
  console.log('|---|---:|---:|---:|---:|');
  const rows = [
    ['ready, no session', r.ready],
    [`${r.sessions.toLocaleString('en-US')} live sessions`, r.loaded],
    ['the same, after 10 s idle', r.idle],
  ] as const;
  for (const [label, s] of rows) {
    console.log(`| ${label} | ${s.rss_mb} | ${s.heap_used_mb} | ${s.heap_total_mb} | ${s.external_mb} |`);
  }
  const perSession = ((r.loaded.heap_used_mb! - r.ready.heap_used_mb!) * 1048576) / r.sessions;
  console.log(
    `\n${Math.round(perSession)} bytes of heap per session; ` +
      `${r.sessions.toLocaleString('en-US')} sessions created through the API in ${r.create_seconds.toFixed(1)} s.`,
  );
  console.log(
    `Aim: RSS ≤ ${AIM_MB} MB with ${r.sessions.toLocaleString('en-US')} live sessions — ` +
      `${r.idle.rss_mb! <= AIM_MB ? 'met' : 'NOT met'} (${r.idle.rss_mb} MB).`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
