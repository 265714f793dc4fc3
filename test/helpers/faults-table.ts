import { auditUnwritable, diskFull } from './faults-audit.ts';
import { postgresStopped, redisKilled } from './faults-backends.ts';
import type { Phases, ScenarioResult } from './faults-harness.ts';
import { jwksDown, jwksSlow } from './faults-identity.ts';
import { bundleDirRemoved } from './faults-policy.ts';
import { kill9UnderLoad, sigtermUnderLoad } from './faults-process.ts';

/** Every fault scenario, in the order of the reliability table; the tests in test/faults/ run the same functions. */
export const SCENARIOS: readonly { readonly id: string; readonly run: (phases?: Phases) => Promise<ScenarioResult> }[] =
  [
    { id: 'redis', run: redisKilled },
    { id: 'postgres', run: postgresStopped },
    { id: 'audit-unwritable', run: auditUnwritable },
    { id: 'disk-full', run: diskFull },
    { id: 'bundle-dir', run: bundleDirRemoved },
    { id: 'jwks-slow', run: jwksSlow },
    { id: 'jwks-down', run: jwksDown },
    { id: 'sigterm', run: sigtermUnderLoad },
    { id: 'kill9', run: kill9UnderLoad },
  ];

const HEADER = '| scenario | requests sent | errors | wrong allows | audit records lost | recovery time | checks |';

function errorsCell(r: ScenarioResult): string {
  const entries = Object.entries(r.errors).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return '0';
  const unexpected = Object.values(r.unexpected).reduce((n, c) => n + c, 0);
  const flagged = unexpected > 0 ? ` — **${unexpected} unexpected**` : '';
  return `${total} (${entries.map(([l, c]) => `${l} ${c}`).join('; ')})${flagged}`;
}

function recoveryCell(r: ScenarioResult): string {
  if (r.recoveryMs === null) return '**never**';
  const ms = `${Math.round(r.recoveryMs).toLocaleString('en-US')} ms`;
  return r.recoveredBy === 'itself'
    ? ms
    : `${ms} (${r.recoveredBy === 'restart' ? 'restart to first allow' : 'after an operator reload'})`;
}

function checksCell(r: ScenarioResult): string {
  const failed = Object.entries(r.checks)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return failed.length === 0 ? `all ${Object.keys(r.checks).length} met` : `**failed: ${failed.join('; ')}**`;
}

/** One row of the table. */
export function tableRow(r: ScenarioResult): string {
  return (
    `| ${r.name} | ${r.sent} | ${errorsCell(r)} | ${r.wrongAllows} | ${r.lost} ` +
    `| ${recoveryCell(r)} | ${checksCell(r)} |`
  );
}

/** The markdown table of the results. */
export function markdownTable(results: readonly ScenarioResult[]): string {
  return [HEADER, '|---|---:|---|---:|---:|---|---|', ...results.map(tableRow)].join('\n');
}
