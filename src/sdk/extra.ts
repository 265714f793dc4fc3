import type { MessageExtraInfo as ExtraV1 } from '@modelcontextprotocol/sdk/types.js';
import type { MessageExtraInfo as ExtraV2 } from '@modelcontextprotocol/server';
import type { Era } from '../pep/era.ts';

/**
 * What a server transport hands the guard with a message: v1's `MessageExtraInfo`
 * (`requestInfo.headers`, a plain record) or v2's (`request`, the web `Request`, and the
 * era `classification` the transport made at the edge). Both carry `authInfo`.
 */
export type GuardExtra = ExtraV1 | ExtraV2;

/** Reads the client's bearer token of a message; by default `extra.authInfo.token`. */
export type TokenOf = (extra: GuardExtra | undefined) => string | undefined;

/** The bearer token of a message: `read`'s, else `authInfo.token`; an empty one is none. */
export function tokenOf(read: TokenOf | undefined, extra: GuardExtra | undefined): string | undefined {
  const token = read === undefined ? extra?.authInfo?.token : read(extra);
  return typeof token === 'string' && token.length > 0 ? token : undefined;
}

/** A request header the transport passed on (lower-case name), whichever SDK major it is. */
export function headerOf(extra: GuardExtra | undefined, name: string): string | undefined {
  if (extra === undefined) return undefined;
  if ('request' in extra && extra.request !== undefined) return nonEmpty(extra.request.headers.get(name));
  const value = 'requestInfo' in extra ? extra.requestInfo?.headers[name] : undefined;
  return nonEmpty(typeof value === 'string' ? value : undefined);
}

/** The era a v2 transport classified the message into at the edge, if it did. */
export function classifiedEra(extra: GuardExtra | undefined): Era | undefined {
  return extra !== undefined && 'classification' in extra ? extra.classification?.era : undefined;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
