import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { SessionOwner } from '../session/record.ts';

/** The exact call an approval covers: who, in which session, on which server, which tool, which arguments. */
export interface CallBinding {
  readonly owner: SessionOwner;
  /** The `id_hash` of the session, or null (MCP 2026-07-28 has none). */
  readonly session: string | null;
  readonly server: string;
  readonly tool: string;
  readonly arguments: unknown;
}

/** sha256 (hex) of the RFC 8785 canonical JSON of the arguments (absent arguments are `{}`). */
export function argumentsHash(args: unknown): string {
  return hash('sha256', canonicalize(args ?? {}) as string, 'hex');
}

/**
 * The binding a grant is for, as one hash: any change of the owner (issuer, subject,
 * client, SPIFFE id), the session, the server, the tool or any argument (compared in
 * RFC 8785 canonical form, so key order and number spelling do not matter) is another call.
 */
export function bindingHash(call: CallBinding): string {
  const { owner, session, server, tool } = call;
  const canonical = canonicalize({ owner, session, server, tool, arguments_sha256: argumentsHash(call.arguments) });
  return hash('sha256', canonical as string, 'hex');
}
