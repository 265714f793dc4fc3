import { hash, randomBytes } from 'node:crypto';
import type { MintedKind, SessionKind } from './record.ts';

const PREFIX: Record<MintedKind, string> = { 'mcp-session': 'mws_', 'state-handle': 'mwh_' };
/** 32 random bytes → 43 base64url characters. */
const ID_PATTERN = /^mw[sh]_[A-Za-z0-9_-]{43}$/;

/** A new id: 256 bits from the CSPRNG, base64url, with a prefix naming its kind. */
export function newSessionId(kind: MintedKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** The only form in which an id is stored or logged. */
export function hashSessionId(id: string): string {
  return hash('sha256', id, 'hex');
}

/** Whether `id` has the shape of an id this service issues (no store lookup needed otherwise). */
export function isWellFormedSessionId(id: string): boolean {
  return kindOfId(id) !== null;
}

/** The kind an id's prefix names, or null when the id is not one this service issues. */
export function kindOfId(id: string): MintedKind | null {
  if (!ID_PATTERN.test(id)) return null;
  return id.startsWith(PREFIX['state-handle']) ? 'state-handle' : 'mcp-session';
}

/**
 * The key of state the upstream minted (a task id, a handle of its own format) once bound
 * here: the same value is a different record per kind and per server, since two upstreams
 * may mint the same id. Only the hash is stored or logged.
 */
export function boundStateHash(kind: SessionKind, server: string, value: string): string {
  return hash('sha256', JSON.stringify([kind, server, value]), 'hex');
}
