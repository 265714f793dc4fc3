import { ClaimInvalid } from '../errors.ts';
import { parseSpiffeId } from './spiffe.ts';

/** One actor of a delegation chain (RFC 8693 `act`): a party acting for the token's subject. */
export interface Actor {
  /** The actor's issuer: its `act.iss`, else the token's issuer (RFC 8693 §4.1). */
  readonly iss: string;
  readonly sub: string;
  readonly client_id: string | null;
  /** The actor's `sub` when it is a SPIFFE ID (a workload), else null. */
  readonly spiffe_id: string | null;
  /** True when the actor proved who it is with its own JWT-SVID, beside the token. */
  readonly attested: boolean;
}

/** Who may act for the subject (RFC 8693 §4.4 `may_act`): every field it gives must match. */
export interface MayAct {
  readonly iss?: string;
  readonly sub?: string;
  readonly client_id?: string;
}

/**
 * How deep `act` claims are read at all: far beyond any configured depth, so the
 * configured cap (`identity.delegation.max_depth`) is what refuses a long chain.
 */
const PARSE_LIMIT = 32;

/**
 * The actor chain of verified claims, the most recent actor (the outermost `act`) first.
 * Only identity claims count: RFC 8693 §4.1 says the other claims of an `act` are not
 * meaningful for access control.
 */
export function actorsOf(claims: Record<string, unknown>, tokenIssuer: string): Actor[] {
  const chain: Actor[] = [];
  for (let act = claims.act; act !== undefined; act = (act as Record<string, unknown>).act) {
    if (chain.length === PARSE_LIMIT) throw new ClaimInvalid(`the token's act claim nests deeper than ${PARSE_LIMIT}`);
    if (!isObject(act)) throw new ClaimInvalid('the token claim act must be an object');
    const sub = text(act.sub, 'act.sub');
    if (sub === undefined) throw new ClaimInvalid('the token claim act.sub must be a non-empty string');
    chain.push({
      iss: text(act.iss, 'act.iss') ?? tokenIssuer,
      sub,
      client_id: text(act.client_id, 'act.client_id') ?? null,
      spiffe_id: parseSpiffeId(sub) === null ? null : sub,
      attested: false,
    });
  }
  return chain;
}

/** The token's `may_act`, or null; one that names no one is refused. */
export function mayActOf(claims: Record<string, unknown>): MayAct | null {
  const value = claims.may_act;
  if (value === undefined) return null;
  if (!isObject(value)) throw new ClaimInvalid('the token claim may_act must be an object');
  const iss = text(value.iss, 'may_act.iss');
  const sub = text(value.sub, 'may_act.sub');
  const clientId = text(value.client_id, 'may_act.client_id');
  if (sub === undefined && clientId === undefined) {
    throw new ClaimInvalid('the token claim may_act must name an actor (sub or client_id)');
  }
  return {
    ...(iss === undefined ? {} : { iss }),
    ...(sub === undefined ? {} : { sub }),
    ...(clientId === undefined ? {} : { client_id: clientId }),
  };
}

/** Whether `actor` is the one `mayAct` names. */
export function permittedBy(mayAct: MayAct, actor: Actor): boolean {
  return (
    (mayAct.iss === undefined || mayAct.iss === actor.iss) &&
    (mayAct.sub === undefined || mayAct.sub === actor.sub) &&
    (mayAct.client_id === undefined || mayAct.client_id === actor.client_id)
  );
}

/** A string claim member: absent is undefined, anything but a non-empty well-formed string is refused. */
function text(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || !value.isWellFormed()) {
    throw new ClaimInvalid(`the token claim ${name} must be a non-empty, well-formed string`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
