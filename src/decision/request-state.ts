import { hash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { auditRecord, recordedPrincipal } from '../audit/record.ts';
import { AuditUnavailable, RequestStateInvalid, RequestStateOwnerMismatch } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { ownedBy, ownerOf } from '../session/check.ts';
import type { SessionOwner } from '../session/record.ts';
import type { CoreDeps } from './deps.ts';
import { assertNotRevoked, lookupFor } from './principal-revocation.ts';
import type { Caller, SealRequestStateRequest } from './types.ts';

/** The prefix of a sealed request state: a shape the upstream never mints is refused without decrypting. */
const PREFIX = 'mwr_';
/** How long a sealed request state may wait for the client's answer (an elicitation a person fills in). */
export const REQUEST_STATE_TTL_MS = 15 * 60 * 1000;
/** Largest upstream `requestState` sealed; a bigger one is refused rather than carried. */
export const MAX_REQUEST_STATE_BYTES = 64 * 1024;

/** What a sealed request state holds: the upstream's value, and who, where and until when it is good for. */
interface Sealed {
  readonly value: string;
  readonly owner: SessionOwner;
  readonly server: string;
  readonly exp: number;
}

/**
 * Seals the `requestState` an upstream returned in an `InputRequiredResult` (MCP
 * 2026-07-28 multi-round-trip requests) to the principal it was returned to, the server
 * and an expiry: AEAD (JWE `dir` + A256GCM) under the service's key, so the client
 * holds an opaque value that is useless to anyone else and cannot be altered.
 */
export async function sealRequestState(
  key: Uint8Array,
  value: string,
  use: { readonly principal: Principal; readonly server: string; readonly now: number },
): Promise<string> {
  if (Buffer.byteLength(value) > MAX_REQUEST_STATE_BYTES) {
    throw new RequestStateInvalid(`the upstream's requestState is larger than ${MAX_REQUEST_STATE_BYTES} bytes`);
  }
  const sealed: Sealed = {
    value,
    owner: ownerOf(use.principal),
    server: use.server,
    exp: use.now + REQUEST_STATE_TTL_MS,
  };
  const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(sealed)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(key);
  return PREFIX + jwe;
}

/**
 * The upstream's value of a `requestState` the client returned, once checked: sealed by
 * this service (any alteration fails the AEAD tag), for this server, not expired, and
 * returned by the principal it was sealed to. Throws `request_state_invalid` or
 * `request_state_owner_mismatch`.
 */
export async function unsealRequestState(
  key: Uint8Array,
  presented: unknown,
  use: { readonly principal: Principal; readonly server: string; readonly now: number },
): Promise<string> {
  if (typeof presented !== 'string' || !presented.startsWith(PREFIX)) {
    throw new RequestStateInvalid('the requestState was not issued through this service');
  }
  let sealed: Sealed;
  try {
    const { plaintext } = await compactDecrypt(presented.slice(PREFIX.length), key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    sealed = JSON.parse(new TextDecoder().decode(plaintext)) as Sealed;
  } catch {
    throw new RequestStateInvalid('the requestState was altered or not sealed by this service');
  }
  if (sealed.server !== use.server) throw new RequestStateInvalid('the requestState is for another server');
  if (!ownedBy(sealed.owner, use.principal)) {
    throw new RequestStateOwnerMismatch('the requestState was issued to another principal');
  }
  if (use.now >= sealed.exp) throw new RequestStateInvalid('the requestState has expired');
  return sealed.value;
}

/** How an audit record names a sealed request state: its sha256, never the value. */
export function requestStateHash(sealed: string): string {
  return hash('sha256', sealed, 'hex');
}

/**
 * The operation behind `POST /v1/request-states`: the token verified again (and its
 * principal not revoked), the upstream's value sealed to it, and the sealing recorded
 * (`request_state.sealed`) before the sealed value is returned.
 */
export async function sealForPrincipal(
  deps: CoreDeps,
  request: SealRequestStateRequest,
  caller: Caller,
): Promise<{ readonly request_state: string }> {
  const now = deps.clock();
  const principal = await deps.verifier.identify(request, request.server);
  await assertNotRevoked(deps, lookupFor(principal, request.token), now);
  const sealed = await sealRequestState(deps.stateKey, request.request_state, {
    principal,
    server: request.server,
    now,
  });
  try {
    await deps.audit.append(
      auditRecord('request_state.sealed', now, caller.id, {
        principal: recordedPrincipal(principal),
        server: request.server,
        detail: {
          request_state: requestStateHash(sealed),
          expires_at: new Date(now + REQUEST_STATE_TTL_MS).toISOString(),
        },
      }),
    );
  } catch {
    throw new AuditUnavailable('the audit sink failed; the request state was not sealed');
  }
  return { request_state: sealed };
}
