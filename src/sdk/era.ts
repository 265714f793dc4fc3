import { eraOf, isModern, legacyRefusal, modernRefusal, type Era, type Refusal } from '../pep/era.ts';
import type { ClientMessage } from '../pep/message.ts';

/** What a guarded transport knows of its era when a message arrives. */
export interface TransportEra {
  /** The era its serving entry made it for ({@link guardFactory}: `ctx.era`). */
  readonly fixed: Era | undefined;
  /** The era a v2 transport classified the message into at the edge. */
  readonly classified: Era | undefined;
  /** Whether it saw the legacy handshake; then the revision the server answered to it. */
  readonly handshaken: boolean;
  readonly served: string | undefined;
}

/** Whether a message is the legacy handshake. */
export function isInitialize(message: ClientMessage): boolean {
  return message.type === 'request' && message.method === 'initialize';
}

/**
 * The era a message is served in: the one the transport is known to serve, else the one
 * a v2 transport classified it into; `initialize` is the legacy handshake, and after it
 * the revision the server answered (not what a message states) is the era, so that a
 * client cannot opt out of its session; a transport without either goes by the version
 * the message states.
 */
export function servedEra(transport: TransportEra, message: ClientMessage, stated: string | undefined): Era {
  if (transport.fixed !== undefined) return transport.fixed;
  if (transport.classified !== undefined) return transport.classified;
  if (isInitialize(message)) return 'legacy';
  if (transport.handshaken) return eraOf(transport.served);
  return eraOf(stated);
}

/**
 * The core's era rules (`src/pep/era.ts`), before any decision: a message is held to
 * those of the era it is served in, and to the modern era's when it states a modern
 * version — the proxy would judge it as modern, and a legacy transport must not serve it
 * as legacy once it was judged as modern, so it is refused either way. `legacySession`:
 * it belongs to a legacy session (a warden session, or an `Mcp-Session-Id`).
 */
export function eraProblem(
  message: ClientMessage,
  era: Era,
  stated: string | undefined,
  legacySession: boolean,
): Refusal | null {
  if (era === 'modern') return modernRefusal(message, stated ?? '', legacySession);
  if (stated !== undefined && isModern(stated))
    return modernRefusal(message, stated, legacySession) ?? legacyRefusal([message]);
  return legacyRefusal([message]);
}
