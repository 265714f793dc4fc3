import { hash, randomBytes } from 'node:crypto';
import type { SessionKind } from './record.ts';

const PREFIX: Record<SessionKind, string> = { 'mcp-session': 'mws_', 'state-handle': 'mwh_' };
/** 32 random bytes → 43 base64url characters. */
const ID_PATTERN = /^mw[sh]_[A-Za-z0-9_-]{43}$/;

/** A new id: 256 bits from the CSPRNG, base64url, with a prefix naming its kind. */
export function newSessionId(kind: SessionKind): string {
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
export function kindOfId(id: string): SessionKind | null {
  if (!ID_PATTERN.test(id)) return null;
  return id.startsWith(PREFIX['state-handle']) ? 'state-handle' : 'mcp-session';
}
