// Issue 8, side by side, in one command and one run:
//
//   node bench/compare/run.ts             # full: about 5 minutes
//   node bench/compare/run.ts --quick     # short rounds, a trial (noisy): under a minute
//   node bench/compare/run.ts --gomaxprocs=1   # also pin opa and cerbos to one Go thread
//
// Part 1 (bench/compare/in-process.ts): mcp-warden decide(), opa-wasm alone, OPA's Go
// evaluator (`opa bench`), Cedar (cedar-wasm), rounds alternated. Part 2
// (bench/compare/http.ts): mcp-warden /v1/decide, `opa run --server`, the Cerbos PDP and a
// fastify hello-world under the same autocannon load, rounds alternated. Prints the
// machine and Markdown tables for docs/benchmarks.md; a full run also writes them as JSON
// to bench/compare/results/latest.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/cli.ts';
import { requireSystems } from './lib/requirements.ts';
import { describeMachine } from './lib/tools.ts';

// Before the parts are imported: they load the comparison systems.
requireSystems();
const { HTTP_FULL, HTTP_QUICK, httpBadResponses, httpMarkdown, runHttpCompare } = await import('./http.ts');
const { IN_PROCESS_FULL, IN_PROCESS_QUICK, inProcessMarkdown, runInProcessCompare } = await import('./in-process.ts');

const args = parseArgs(process.argv.slice(2));
const started = Date.now();
const machine = await describeMachine(args.gomaxprocs);
const inProcessOptions = { ...(args.quick ? IN_PROCESS_QUICK : IN_PROCESS_FULL), gomaxprocs: args.gomaxprocs };
const httpOptions = { ...(args.quick ? HTTP_QUICK : HTTP_FULL), gomaxprocs: args.gomaxprocs };
const log = (line: string) => console.log(`  ${line}`);

const quickNote = args.quick ? ' — QUICK (short rounds: noisy, for trying the harness only)' : '';
console.log(`mcp-warden side-by-side comparison${quickNote}`);
console.log(
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.os}; Node ${machine.node}; ` +
    `opa ${machine.opa}; cerbos ${machine.cerbos}; cedar-wasm ${machine.cedar_wasm}; ` +
    `GOMAXPROCS ${machine.gomaxprocs}; load average ${machine.load_1m_before}`,
);

console.log(
  `\nPart 1: in process — ${inProcessOptions.rounds} rounds × ${inProcessOptions.roundMs / 1000} s ` +
    `per system, alternated, after a ${inProcessOptions.warmupMs / 1000} s warm-up each`,
);
const inProcess = await runInProcessCompare(inProcessOptions, log);

console.log(
  `\nPart 2: HTTP — autocannon, ${httpOptions.connections} connections, ${httpOptions.rounds} rounds ` +
    `× ${httpOptions.durationSeconds} s per server, alternated, after a ${httpOptions.warmupSeconds} s warm-up each`,
);
const http = await runHttpCompare(httpOptions, log);

const seconds = Math.round((Date.now() - started) / 1000);
const load = Math.round((loadavg()[0] ?? 0) * 100) / 100;
console.log(
  [
    '',
    `## Side by side${args.quick ? ' (QUICK run: short rounds, noisy)' : ''}`,
    '',
    `**Machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.os}, Node ${machine.node}, ` +
      `OPA ${machine.opa}, Cerbos ${machine.cerbos}, cedar-wasm ${machine.cedar_wasm}; ` +
      `GOMAXPROCS ${machine.gomaxprocs}. Load average ${machine.load_1m_before} before, ${load} after; ` +
      `${seconds} s in all (${new Date().toISOString().slice(0, 10)}). ` +
      `\`node bench/compare/run.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}\``,
    '',
    inProcessMarkdown(inProcess),
    '',
    httpMarkdown(http),
    '',
  ].join('\n'),
);

if (!args.quick) {
  const file = fileURLToPath(new URL('./results/latest.json', import.meta.url));
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  const results = {
    generated_at: new Date().toISOString(),
    seconds,
    machine: { ...machine, load_1m_after: load },
    in_process: inProcess,
    http,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`(written to ${file})`);
}
if (httpBadResponses(http) > 0) {
  console.error('\nsome HTTP responses were not the expected allow — the HTTP figures are not valid');
  process.exitCode = 1;
}

// The verifiable log's cost (bench/audit-tree.ts: the Merkle tree against the hash chain alone), in its own process.
const tree = ['--records', '20000', '--rounds', '2', '--round-ms', '500'];
const treeRun = spawnSync(
  process.execPath,
  [fileURLToPath(new URL('../audit-tree.ts', import.meta.url)), ...(args.quick ? tree : [])],
  { stdio: 'inherit' },
);
if (treeRun.status !== 0) process.exitCode = 1;
