import { hash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { auditRecord, type AuditRecord } from '../audit/record.ts';
import {
  AuditUnavailable,
  InvalidRequest,
  PrincipalRevoked,
  SessionStoreUnavailable,
  type FieldError,
} from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import {
  revocationLookup,
  type NewPrincipalRevocation,
  type PrincipalRevocation,
  type RevocationLookup,
} from '../session/revocation.ts';
import type { CoreDeps } from './deps.ts';
import type { Caller, PrincipalSelector, RevocationFields, RevocationView } from './types.ts';

/** The hex sha256 of a raw token: the only form in which a token is ever named (a `token` rule). */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * What a principal may be revoked under, for one verified request: computed once per
 * request (one sha256 of the token). `iat` and `jti` come from the principal's claims
 * when the issuer passes them to policy, else from the verified token's payload (the
 * bytes the verifier just checked).
 */
export function lookupFor(principal: Principal, token: string | undefined): RevocationLookup {
  const tokenHash = token === undefined ? null : hashToken(token);
  let iat = principal.claims.iat;
  let jti = principal.claims.jti;
  if ((typeof iat !== 'number' || typeof jti !== 'string') && token !== undefined) {
    const payload = timesOf(token, tokenHash!);
    if (typeof iat !== 'number') iat = payload.iat;
    if (typeof jti !== 'string') jti = payload.jti;
  }
  return revocationLookup({
    iss: principal.iss,
    sub: principal.sub,
    client_id: principal.client_id,
    token_sha256: tokenHash,
    jti: typeof jti === 'string' && jti !== '' ? jti : null,
    issued_at: typeof iat === 'number' && Number.isFinite(iat) ? iat * 1000 : null,
  });
}

/** `iat` and `jti` of tokens seen lately, by token hash: a pure function of the token, so safe to share. */
const TOKEN_TIMES = new Map<string, TokenTimes>();
const TOKEN_TIMES_MAX = 10_000;

interface TokenTimes {
  readonly iat: unknown;
  readonly jti: unknown;
}

/**
 * Decoding a payload costs several times the sha256 already taken of the token, and a
 * client sends one token many times: decoded once per token, looked up by its hash
 * after. Bounded: past the maximum it starts over.
 */
function timesOf(token: string, tokenHash: string): TokenTimes {
  const known = TOKEN_TIMES.get(tokenHash);
  if (known !== undefined) return known;
  const payload = payloadOf(token);
  const times = { iat: payload.iat, jti: payload.jti };
  if (TOKEN_TIMES.size >= TOKEN_TIMES_MAX) TOKEN_TIMES.clear();
  TOKEN_TIMES.set(tokenHash, times);
  return times;
}

/**
 * Throws `principal_revoked` when a live rule covers the principal, and
 * `session_store_unavailable` when the store cannot say (fail closed).
 */
export async function assertNotRevoked(deps: CoreDeps, lookup: RevocationLookup, now: number): Promise<void> {
  let rule: PrincipalRevocation | undefined;
  try {
    rule = await deps.sessions.principalRevocation(lookup, now);
  } catch (err) {
    if (err instanceof SessionStoreUnavailable) throw err;
    throw new SessionStoreUnavailable('the principal revocations could not be read', { cause: err });
  }
  if (rule !== undefined) throw new PrincipalRevoked(REVOKED_MESSAGE[rule.selector]);
}

const REVOKED_MESSAGE: Record<PrincipalRevocation['selector'], string> = {
  subject: 'the principal was revoked after this token was issued',
  client: 'the client was revoked after this token was issued',
  token: 'the token was revoked',
  jti: 'the token was revoked',
};

/**
 * The one selector a revocation request names, or `invalid_request` naming the field:
 * `subject` (with an optional `issuer`, and an optional `client_id` narrowing it to that
 * client), `client_id`, `token_sha256`, or `jti` with its `issuer`. Exactly one.
 */
export function selectorOf(fields: RevocationFields): PrincipalSelector {
  const given = (['subject', 'client_id', 'token_sha256', 'jti'] as const).filter((name) => fields[name] !== undefined);
  // A client_id beside a subject narrows the subject rule; it is not a second selector.
  const groups = fields.subject !== undefined ? given.filter((name) => name !== 'client_id') : given;
  const fail = (path: string, message: string): never => {
    const errors: FieldError[] = [{ path, message }];
    throw new InvalidRequest(`invalid body: ${message}`, errors);
  };
  if (groups.length === 0) {
    fail('', 'give exactly one of subject (with issuer, client_id), client_id, token_sha256, jti (with issuer)');
  }
  if (groups.length > 1) fail(groups[1]!, `give one selector only: ${groups.join(' and ')} were both given`);
  const { subject, issuer, client_id, token_sha256, jti } = fields;
  if (subject !== undefined) {
    return { selector: 'subject', iss: issuer ?? null, sub: subject, client_id: client_id ?? null };
  }
  if (jti !== undefined) {
    if (issuer === undefined) fail('issuer', 'issuer is required with jti (a jti is unique per issuer only)');
    return { selector: 'jti', iss: issuer!, jti };
  }
  if (issuer !== undefined) fail('issuer', 'issuer goes with subject or jti only');
  if (client_id !== undefined) return { selector: 'client', client_id };
  return { selector: 'token', token_sha256: token_sha256!.toLowerCase() };
}

/**
 * Records a rule and its `principal.revoked` audit record. The rule is in force before
 * the record is written: a refused record answers `audit_unavailable` (retry), but never
 * leaves a principal the operator meant to stop able to go on.
 */
export async function recordRevocation(
  deps: CoreDeps,
  selector: PrincipalSelector,
  caller: Caller,
  now: number,
  detail: { readonly note: string | null; readonly [key: string]: unknown },
): Promise<PrincipalRevocation> {
  const rule = await deps.sessions.revokePrincipal(newRule(selector, caller, now, detail.note));
  await deps.audit.append(revokedRecord(rule, caller, now, deps.policy.revision, detail)).catch(() => {
    throw new AuditUnavailable('the audit sink did not accept the revocation; it is in force, retry to record it');
  });
  return rule;
}

/** The API view of a rule. */
export function revocationView(rule: PrincipalRevocation): RevocationView {
  return {
    selector: rule.selector,
    issuer: rule.iss,
    subject: rule.sub,
    client_id: rule.client_id,
    token_sha256: rule.token_sha256,
    jti: rule.jti,
    revoked_at: new Date(rule.revoked_at).toISOString(),
    expires_at: new Date(rule.expires_at).toISOString(),
    revoked_by: rule.revoked_by,
    note: rule.note,
  };
}

function newRule(
  selector: PrincipalSelector,
  caller: Caller,
  now: number,
  note: string | null,
): NewPrincipalRevocation {
  const empty = { iss: null, sub: null, client_id: null, token_sha256: null, jti: null };
  return { ...empty, ...selector, revoked_at: now, revoked_by: caller.id, note };
}

function revokedRecord(
  rule: PrincipalRevocation,
  caller: Caller,
  now: number,
  revision: string | null,
  detail: Record<string, unknown>,
): AuditRecord {
  // Only a subject rule of a known issuer names one principal; the rest is in `detail.rule`.
  const principal =
    rule.selector === 'subject' && rule.iss !== null && rule.sub !== null
      ? { iss: rule.iss, sub: rule.sub, client_id: rule.client_id }
      : null;
  return auditRecord('principal.revoked', now, caller.id, {
    principal,
    policy_revision: revision,
    detail: { ...detail, rule: revocationView(rule), by: { caller: caller.id, role: caller.role } },
  });
}

/** The payload of a token that already verified; `{}` if it cannot be read (then no iat: covered, fail closed). */
function payloadOf(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
}
