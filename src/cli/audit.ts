import { openTrail } from '../audit/open-trail.ts';
import type { AuditTrail } from '../audit/record.ts';
import { verifyTrail } from '../audit/verify.ts';
import type { Config } from '../config/schema.ts';
import { parseFlags, UsageError } from './args.ts';
import { auditKeysCommand, trustedKeys } from './audit-keys.ts';
import { queryFromFlags, type QueryFlags } from './audit-query-flags.ts';
import { commandConfig } from './config.ts';
import { Refused } from './refused.ts';

const OPTIONS = {
  config: { type: 'string' },
  file: { type: 'string' },
  keys: { type: 'string' },
  session: { type: 'string' },
  subject: { type: 'string' },
  'client-id': { type: 'string' },
  tool: { type: 'string' },
  server: { type: 'string' },
  kind: { type: 'string' },
  outcome: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

/** `mcp-warden audit verify|query|keys`: the trail of the configured sink (file or PostgreSQL). */
export async function auditCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== 'verify' && verb !== 'query' && verb !== 'keys') {
    throw new UsageError(verb === undefined ? 'verify, query or keys?' : `unknown verb ${JSON.stringify(verb)}`);
  }
  const values = parseFlags(withRelativeTimes(rest), OPTIONS);
  const config = commandConfig({
    file: values.config,
    overrides: { audit: { file: values.file, ...(values.file ? { sink: 'file' } : {}) } },
  });
  if (config === null) return 2;
  try {
    if (verb === 'keys') return auditKeysCommand(config.audit);
    if (verb === 'verify') return await verify(config, values.keys);
    return await query(config, values);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    console.error(err.message);
    return err.exitCode;
  }
}

async function verify(config: Config, keysFile: string | undefined): Promise<number> {
  const trusted = trustedKeys(config.audit, keysFile);
  const started = performance.now();
  const verdict = await withTrail(config, (trail) =>
    verifyTrail(trail, trusted).catch((err: Error) => ({
      ok: false as const,
      chain: null,
      seq: 0,
      problem: err.message,
    })),
  );
  if (!verdict.ok) {
    console.error(`BROKEN: ${brokenAt(verdict)}${verdict.problem}`);
    return 1;
  }
  // Nothing to verify proves nothing: a wrong path or an emptied trail must not pass.
  if (verdict.records === 0) throw new Refused(1, `audit: the trail ${trailName(config)} is empty: no records`);
  console.log(
    `ok: ${verdict.records} records in ${verdict.chains.length} chain(s), ` +
      `${verdict.checkpoints} signed checkpoint(s) verified`,
  );
  for (const chain of verdict.chains) {
    if (chain.unsigned > 0) {
      console.log(
        `unsigned tail: chain ${chain.chain}, records ${chain.signed + 1}–${chain.records} ` +
          `(${chain.unsigned}) after its last checkpoint`,
      );
    }
  }
  // On stderr, so the verdict lines stay what scripts read: how long a large trail takes.
  const seconds = (performance.now() - started) / 1000;
  console.error(
    `verified in ${seconds.toFixed(1)} s (${Math.round(verdict.records / Math.max(seconds, 0.001))} records/s)`,
  );
  return 0;
}

async function query(config: Config, flags: QueryFlags): Promise<number> {
  const filters = queryFromFlags(flags, Date.now());
  const page = await withTrail(config, (sink) => sink.query(filters));
  for (const record of page.records) console.log(JSON.stringify(record));
  if (page.next) console.error(`more: --cursor ${page.next}`);
  return 0;
}

/** Runs `read` on the configured trail, opened read-only (`openTrail`). */
async function withTrail<T>(config: Config, read: (trail: AuditTrail) => Promise<T>): Promise<T> {
  const opened = await openTrail(config.audit);
  if (opened === null) throw new Refused(1, `audit: the trail ${config.audit.file} is missing (no such file)`);
  try {
    return await read(opened.trail);
  } finally {
    await opened.close();
  }
}

/**
 * Where the trail broke: a record's chain and seq, or nothing for a line that does not parse
 * (chain null) or a checkpoint that fails its signature (chain '?'): its payload cannot be
 * trusted to say where, so the keys it was checked with are named instead.
 */
function brokenAt(verdict: { readonly chain: string | null; readonly seq: number }): string {
  return verdict.chain === null || verdict.chain === '?' ? '' : `chain ${verdict.chain}, record ${verdict.seq}: `;
}

function trailName(config: Config): string {
  return config.audit.sink === 'file' ? config.audit.file : `in table ${config.audit.postgres.table}`;
}

/** `--since -1h` as `--since=-1h`: parseArgs takes a value that starts with a dash for an option. */
function withRelativeTimes(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if ((arg === '--since' || arg === '--until') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}
