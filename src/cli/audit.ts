import { verifyTrail } from '../audit/verify.ts';
import { witnessedCheckpoints } from '../audit/witnessed.ts';
import type { Config } from '../config/schema.ts';
import { parseFlags, UsageError } from './args.ts';
import { auditAccessCommand } from './audit-access.ts';
import { auditKeysCommand, trustedKeys } from './audit-keys.ts';
import { auditMigrateCommand, MIGRATE_OPTIONS } from './audit-migrate.ts';
import { auditProofCommand, PROOF_OPTIONS } from './audit-prove.ts';
import { queryFromFlags, type QueryFlags } from './audit-query-flags.ts';
import { withTrail } from './audit-trail.ts';
import { commandConfig } from './config.ts';
import { Refused } from './refused.ts';

const OPTIONS = {
  config: { type: 'string' },
  file: { type: 'string' },
  keys: { type: 'string' },
  closed: { type: 'boolean' },
  witness: { type: 'string', multiple: true },
  'witness-key': { type: 'string' },
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
  format: { type: 'string' },
  ...PROOF_OPTIONS,
  ...MIGRATE_OPTIONS,
} as const;

const VERBS = ['verify', 'query', 'access', 'keys', 'prove', 'check-proof', 'migrate'] as const;

/** `mcp-warden audit verify|query|access|keys|prove|check-proof|migrate`: the configured trail (file or PostgreSQL). */
export async function auditCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (!VERBS.some((v) => v === verb)) {
    throw new UsageError(verb === undefined ? `${VERBS.join(', ')}?` : `unknown verb ${JSON.stringify(verb)}`);
  }
  const values = parseFlags(withRelativeTimes(rest), OPTIONS);
  const config = commandConfig({
    file: values.config,
    overrides: { audit: { file: values.file, ...(values.file ? { sink: 'file' } : {}) } },
  });
  if (config === null) return 2;
  try {
    if (verb === 'keys') return auditKeysCommand(config.audit);
    if (verb === 'verify') return await verify(config, values);
    if (verb === 'prove' || verb === 'check-proof') return await auditProofCommand(verb, config, values);
    if (verb === 'migrate') return await auditMigrateCommand(config, values);
    if (verb === 'access') return await auditAccessCommand(config, values);
    return await query(config, values);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    console.error(err.message);
    return err.exitCode;
  }
}

async function verify(
  config: Config,
  flags: { keys?: string; closed?: boolean; witness?: string[]; 'witness-key'?: string },
): Promise<number> {
  const trusted = trustedKeys(config.audit, flags.keys);
  const witnessed: string[] = [];
  for (const url of flags.witness ?? []) {
    const vkey = flags['witness-key'] ?? config.audit.witnesses.find((w) => w.url === url)?.vkey;
    if (vkey === undefined) {
      throw new Refused(2, `audit: --witness ${url} needs its key: --witness-key <vkey>, or it in audit.witnesses`);
    }
    try {
      witnessed.push(...(await witnessedCheckpoints(url, vkey, `${config.audit.log_name}/`)));
    } catch (err) {
      throw new Refused(1, `audit: the witness ${url} cannot be checked against: ${(err as Error).message}`);
    }
  }
  const requireClosed = flags.closed === true;
  const started = performance.now();
  const verdict = await withTrail(config, (trail) =>
    verifyTrail(trail, trusted, { requireClosed, witnessed }).catch((err: Error) => ({
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
      `${verdict.checkpoints} signed checkpoint(s) verified` +
      (flags.witness === undefined ? '' : `, ${verdict.witnessed} witnessed checkpoint(s) consistent`),
  );
  for (const chain of verdict.chains) {
    if (chain.state !== 'closed') {
      console.log(
        chain.state === 'crashed'
          ? `crashed: chain ${chain.chain} ended without its close record; the next chain recorded the crash`
          : `open: chain ${chain.chain} has no close record yet (still being written, or a crash not yet recorded)`,
      );
    }
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
