// The HTTP hot path: the service in a child process under `--cpu-prof`, loaded by autocannon.
//   node bench/profile-http.ts [seconds] [profile dir]
// then: node bench/analyze-profile.ts <dir>/<file>.cpuprofile
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/child.ts';
import { BENCH_SERVER, createBenchIssuer } from './lib/issuer.ts';
import { runLoad } from './lib/load.ts';
import { toolCallRequest } from './lib/request.ts';

const [seconds = '10', dir = '/tmp/prof-http'] = process.argv.slice(2);
const issuer = await createBenchIssuer();
const warden = await startServer(
  fileURLToPath(new URL('./servers/warden.ts', import.meta.url)),
  { BENCH_ISSUER_CONFIG: JSON.stringify(issuer.config) },
  ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'],
);
try {
  const token = await issuer.mint();
  const base = `http://127.0.0.1:${warden.port}`;
  const response = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, server: BENCH_SERVER }),
  });
  const { id } = (await response.json()) as { id: string };
  const run = await runLoad(
    {
      name: 'decide',
      url: `${base}/v1/decide`,
      method: 'POST',
      body: JSON.stringify(toolCallRequest(token, id)),
      expectInBody: '"allow":true',
    },
    { connections: 32, pipelining: 1, durationSeconds: Number(seconds) },
  );
  console.log(
    `${Math.round(run.requestsPerSecond)} req/s, non-2xx ${run.non2xx}, ` +
      `errors ${run.errors}, mismatches ${run.mismatches}`,
  );
} finally {
  await warden.stop();
}
console.log(`profile written to ${dir}`);
