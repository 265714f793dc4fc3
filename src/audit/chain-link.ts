import type { SealedRecord } from './chain.ts';
import { openChainCheckpoint, type TreeHead } from './checkpoint.ts';
import { auditRecord, type AuditRecord, type AuditTrail } from './record.ts';
import type { NoteVerifier } from './signed-note.ts';

/**
 * What a chain's first record (`audit.chain_started`) says of the chain its writer wrote
 * before: where that chain ended and the last checkpoint of it. Deleting that chain, or
 * cutting its tail, breaks the link; a chain that ended without its close record has its
 * crash recorded here (`closed: false`).
 */
export interface ChainLink {
  readonly chain: string;
  /** Its last record's seq when this chain started. */
  readonly records: number;
  readonly last_hash: string;
  /** Whether that last record is its `audit.chain_closed`. */
  readonly closed: boolean;
  /** Its last checkpoint: tree size and root (hex). */
  readonly checkpoint: { readonly size: number; readonly root: string } | null;
}

/** The writer of a chain: the part of its id before the first `:` (the host, see `newChainId`). */
export function lineageOf(chain: string): string {
  const colon = chain.indexOf(':');
  return colon === -1 ? chain : chain.slice(0, colon);
}

/** The link to the chain whose last record is `last`, or null when there is none. */
export function linkTo(last: SealedRecord | null, checkpoint: TreeHead | null): ChainLink | null {
  if (last === null) return null;
  return {
    chain: last.chain,
    records: last.seq,
    last_hash: last.hash,
    closed: last.kind === 'audit.chain_closed',
    checkpoint:
      checkpoint === null || checkpoint.chain !== last.chain
        ? null
        : { size: checkpoint.size, root: checkpoint.root.toString('hex') },
  };
}

/** A chain's first record. */
export function chainStartedRecord(now: number, previous: ChainLink | null): AuditRecord {
  return auditRecord('audit.chain_started', now, 'mcp-warden', { detail: { previous } });
}

/** A chain's last record when it ends cleanly; the checkpoint signed at stop covers it. */
export function chainClosedRecord(now: number): AuditRecord {
  return auditRecord('audit.chain_closed', now, 'mcp-warden');
}

/** The link a `audit.chain_started` record carries, or undefined when the record is not one. */
export function linkIn(record: SealedRecord): ChainLink | null | undefined {
  if (record.kind !== 'audit.chain_started') return undefined;
  const previous = (record.detail as { previous?: ChainLink | null } | undefined)?.previous;
  return previous ?? null;
}

/** The largest checkpoint of `chain` that `verifier` signed in `trail`, or null. */
export async function lastCheckpointOf(
  trail: Pick<AuditTrail, 'checkpoints'>,
  chain: string,
  verifier: NoteVerifier,
): Promise<TreeHead | null> {
  let last: TreeHead | null = null;
  for await (const note of trail.checkpoints()) {
    let head: TreeHead;
    try {
      head = openChainCheckpoint(note, [verifier]);
    } catch {
      continue; // another key's, or damaged: not one this writer can vouch for
    }
    if (head.chain === chain && (last === null || head.size > last.size)) last = head;
  }
  return last;
}
