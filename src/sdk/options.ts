import type { EnforcementContext } from '../pep/enforce.ts';
import type { Era } from '../pep/era.ts';
import { IMPLEMENTED_OBLIGATIONS } from '../pep/obligations.ts';
import { StreamSupervisor } from '../pep/stream-supervisor.ts';
import type { Warden } from '../pep/warden.ts';
import { headerOf, tokenOf, type GuardExtra } from './extra.ts';

/** Options of {@link guardTransport} and {@link guardFactory}. */
export interface GuardOptions {
  /** The decision point: {@link createWardenClient} or {@link inProcessWarden}. */
  readonly warden: Warden;
  /** The MCP server id (its canonical resource URI): the audience of the tokens. */
  readonly server: string;
  /** The client's bearer token of a message; by default `extra.authInfo.token`. */
  token?(extra: GuardExtra | undefined): string | undefined;
  /**
   * The presenting agent's JWT-SVID of a message, joined to the actor chain
   * (docs/identity.md, "Delegation"); by default the `Agent-Identity` request header.
   */
  agentToken?(extra: GuardExtra | undefined): string | undefined;
  /** Called when the warden session ended (revoked, expired, unknown); by default closes the transport. */
  readonly onSessionEnd?: (() => void) | undefined;
  /** Ask for a widening when a tool call is denied only for the session's scope (default true). */
  readonly widenOnDemand?: boolean | undefined;
  /**
   * Checks the authority of what is open while it is open — the session of a stateful
   * transport, else each request in flight — and ends it when the session is revoked or
   * expires, or the principal is revoked, or the token expires (default: every 500 ms;
   * `false` turns it off). Share one supervisor between guards to batch their checks.
   */
  readonly supervisor?: StreamSupervisor | false | undefined;
  /**
   * The era the transport serves, where its serving entry knows it ({@link guardFactory}
   * passes `createMcpHandler`'s `ctx.era`): every message is held to that era's rules,
   * whatever version it states. Otherwise a v2 transport's edge classification, else the
   * version the messages (or the server's answer to `initialize`) state, decides.
   */
  readonly era?: Era | undefined;
}

const OBLIGATIONS: ReadonlySet<string> = new Set(IMPLEMENTED_OBLIGATIONS.guard);

/** Misuse at construction is a TypeError, before any message arrives. */
export function assertGuardOptions(options: GuardOptions, who: string): void {
  if (typeof options?.warden?.decide !== 'function') throw new TypeError(`${who} needs a warden`);
  if (typeof options.server !== 'string' || options.server.length === 0)
    throw new TypeError(`${who} needs the server id`);
}

/** What the guard decides a message of `extra` with, in `session` (if any) and at `version`. */
export function guardContext(
  options: GuardOptions,
  extra: GuardExtra | undefined,
  session: string | undefined,
  version: string | undefined,
): EnforcementContext {
  return {
    warden: options.warden,
    server: options.server,
    token: tokenOf(options.token, extra),
    agentToken:
      options.agentToken === undefined ? headerOf(extra, 'agent-identity') : tokenOf(options.agentToken, extra),
    session,
    protocolVersion: version,
    widenOnDemand: options.widenOnDemand !== false,
    obligations: OBLIGATIONS,
  };
}

/** The supervisor of a guard given none: checks every 500 ms, cuts after 5 s without an answer. */
export function defaultSupervisor(warden: Warden): StreamSupervisor {
  return new StreamSupervisor({ warden, intervalMs: 500, unavailableGraceMs: 5_000 });
}
