import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  type CheckpointProof,
  checkRecordProof,
  ProofUnavailable,
  proveConsistency,
  proveRecord,
  type RecordProof,
} from '../audit/prove.ts';
import type { Config } from '../config/schema.ts';
import { integerFlag, UsageError } from './args.ts';
import { trustedKeys } from './audit-keys.ts';
import { withTrail } from './audit-trail.ts';
import { Refused } from './refused.ts';

/** The flags of `audit prove` and `audit check-proof`. */
export const PROOF_OPTIONS = {
  decision: { type: 'string' },
  chain: { type: 'string' },
  seq: { type: 'string' },
  size: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  proof: { type: 'string' },
} as const;

type ProofFlags = { readonly [K in keyof typeof PROOF_OPTIONS]?: string | undefined } & {
  readonly keys?: string | undefined;
};

const SIZE = { min: 0, max: Number.MAX_SAFE_INTEGER, what: 'a tree size' };

const recordProofSchema = z.object({
  record: z.looseObject({ chain: z.string(), seq: z.number().int().min(1), hash: z.string() }),
  proof: z.object({
    vkey: z.string(),
    origin: z.string(),
    checkpoint: z.string(),
    inclusion: z.array(
      z.object({
        leaf_hash: z.string(),
        index: z.number().int().min(0),
        proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
      }),
    ),
    consistency: z.array(z.unknown()),
  }),
});

/**
 * `audit prove`: prints the proof, as JSON, that a record is in a signed checkpoint of its
 * chain (`--decision <id>`, or `--chain <id> --seq <n>`, optionally `--size <n>`), or that
 * one checkpoint extends another (`--chain <id> --from <m> --to <n>`). `audit check-proof
 * --proof <file>` checks such a record proof with the trusted keys only (`--keys`).
 */
export async function auditProofCommand(
  verb: 'prove' | 'check-proof',
  config: Config,
  flags: ProofFlags,
): Promise<number> {
  const trusted = trustedKeys(config.audit, flags.keys);
  if (verb === 'check-proof') return checkProof(flags.proof, trusted);
  try {
    const document = await withTrail<RecordProof | CheckpointProof>(config, (trail) => {
      const { chain } = flags;
      if (flags.from !== undefined || flags.to !== undefined) {
        if (chain === undefined || flags.to === undefined) throw new UsageError('--from and --to need --chain');
        const from = integerFlag('--from', flags.from ?? '0', SIZE) as number;
        return proveConsistency(trail, chain, from, integerFlag('--to', flags.to, SIZE) as number, trusted);
      }
      const size = integerFlag('--size', flags.size, { ...SIZE, min: 1 });
      if (flags.decision !== undefined) return proveRecord(trail, { decision_id: flags.decision }, trusted, size);
      if (chain === undefined || flags.seq === undefined) {
        throw new UsageError(
          'prove what? --decision <id>, --chain <id> --seq <n>, or --chain <id> --from <m> --to <n>',
        );
      }
      const seq = integerFlag('--seq', flags.seq, { ...SIZE, min: 1 }) as number;
      return proveRecord(trail, { chain, seq }, trusted, size);
    });
    console.log(JSON.stringify(document, null, 2));
    return 0;
  } catch (err) {
    if (err instanceof ProofUnavailable) throw new Refused(1, `audit: ${err.message}`);
    throw err;
  }
}

function checkProof(file: string | undefined, trusted: Parameters<typeof checkRecordProof>[1]): number {
  if (file === undefined) throw new UsageError('check-proof needs --proof <file> (what audit prove printed)');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Refused(2, `audit: --proof ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  const parsed = recordProofSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Refused(2, `audit: --proof ${file} is not a record proof: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const document = parsed.data as unknown as RecordProof;
  try {
    const head = checkRecordProof(document, trusted);
    console.log(
      `ok: record ${document.record.seq} of chain ${document.record.chain} ` +
        `is in its checkpoint of size ${head.size}, signed by ${head.key.name}`,
    );
    return 0;
  } catch (err) {
    console.error(`BROKEN: ${(err as Error).message}`);
    return 1;
  }
}
