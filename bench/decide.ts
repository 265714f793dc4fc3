// `npm run bench`: how fast mcp-warden decides, in process and over HTTP. About 75 s.
// Prints a Markdown summary for docs/benchmarks.md and writes it as JSON to
// bench/results/decide-latest.json.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runHttp } from './lib/http.ts';
import { runInProcess } from './lib/inprocess.ts';
import { buildSummary, toMarkdown, writeJson } from './lib/report.ts';

const IN_PROCESS = { warmupMs: 1000, rounds: 5, roundMs: 2000, concurrency: 64 };
const HTTP = { connections: 32, pipelining: 1, durationSeconds: 5, rounds: 3, warmupSeconds: 2 };
const RESULTS = fileURLToPath(new URL('./results/decide-latest.json', import.meta.url));

const log = (line: string) => console.log(`  ${line}`);
const loadBefore = loadavg()[0] ?? 0;

console.log(
  `In-process decide() — ${IN_PROCESS.rounds} rounds ` +
    `× ${IN_PROCESS.roundMs / 1000} s after a ${IN_PROCESS.warmupMs / 1000} s warm-up`,
);
const inProcess = await runInProcess(IN_PROCESS, log);

console.log(
  `\nHTTP — autocannon, ${HTTP.connections} connections, pipelining ${HTTP.pipelining}, ` +
    `${HTTP.rounds} × ${HTTP.durationSeconds} s per target, alternated`,
);
const http = await runHttp(HTTP, log);

const summary = buildSummary(inProcess, http, loadBefore);
console.log(`\n## Summary\n\n${toMarkdown(summary)}\n`);
writeJson(RESULTS, summary);
console.log(`(written to ${RESULTS})`);

const unchecked = http.warden.non2xx + http.warden.errors + http.warden.timeouts + http.warden.mismatches;
if (unchecked > 0) {
  console.error(`\n${unchecked} decide responses were not a 200 with allow:true — the HTTP figures are not valid`);
  process.exitCode = 1;
}
