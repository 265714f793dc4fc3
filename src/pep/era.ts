import { EraNotSupported, InvalidRequest, type Reason } from '../errors.ts';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { RpcCode, type ClientMessage } from './message.ts';

/**
 * MCP's two eras. Legacy: protocol versions up to 2025-11-25 (initialize, protocol
 * sessions). Modern: 2026-07-28 and later (no sessions; every request states its version
 * in `_meta`). An upstream speaks one or both; a request in an era it does not speak is
 * refused before it is decided, so that no era can be chosen to escape the other's state.
 */
export type Era = 'legacy' | 'modern';

/** The first modern protocol version. */
export const FIRST_MODERN_VERSION = '2026-07-28';

/** The `_meta` key of the protocol version in a modern request. */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';

/** Whether a protocol version (YYYY-MM-DD) belongs to the modern, sessionless era. */
export function isModern(version: string | undefined): boolean {
  return version !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= FIRST_MODERN_VERSION;
}

export function eraOf(version: string | undefined): Era {
  return isModern(version) ? 'modern' : 'legacy';
}

/** The protocol version in a message's `_meta`, if it states one. */
export function metaVersion(message: ClientMessage): unknown {
  if (message.type === 'response') return undefined;
  const meta = message.params._meta;
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta)
    ? (meta as Record<string, unknown>)[META_PROTOCOL_VERSION]
    : undefined;
}

/** The protocol version a request states: its transport's (the header), else `_meta`, else initialize's. */
export function statedVersion(transport: string | undefined, message: ClientMessage | undefined): string | undefined {
  if (transport !== undefined) return transport;
  if (message === undefined || message.type === 'response') return undefined;
  const meta = metaVersion(message);
  if (typeof meta === 'string') return meta;
  if (message.method === 'initialize' && typeof message.params.protocolVersion === 'string')
    return message.params.protocolVersion;
  return undefined;
}

/** A message an enforcement point refuses on its own, before any decision. */
export interface Refusal {
  /** The HTTP status, where the transport has one. */
  readonly status: number;
  readonly rpcCode: number;
  readonly reason: Reason;
  /** Error data the protocol defines for the code, beside `reasons`. */
  readonly data?: Readonly<Record<string, unknown>>;
}

function refusal(status: number, rpcCode: number, error: { code: string; message: string }): Refusal {
  return { status, rpcCode, reason: { code: error.code, message: error.message } };
}

/** The legacy protocol versions an enforcement point relays (those of the 1.x SDK it is built on). */
export const LEGACY_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS.filter((v) => !isModern(v));

/**
 * Refuses a request in an era the upstream does not speak. A modern request to a
 * legacy-only upstream gets MCP 2026-07-28's UnsupportedProtocolVersion (-32022) with
 * the versions it can use (`supported`) and the one it asked for (`requested`), so that
 * a negotiating client falls back to the legacy era.
 */
export function eraRefusal(era: Era, speaks: ReadonlySet<Era>, requested?: string): Refusal | null {
  if (speaks.has(era)) return null;
  const spoken = speaks.size === 0 ? 'no era it could be probed for' : `only the ${[...speaks].join(' and ')} era`;
  const error = new EraNotSupported(`the upstream speaks ${spoken}, not the ${era} one`);
  if (era === 'modern' && requested !== undefined) {
    const supported = speaks.has('legacy') ? [...LEGACY_VERSIONS] : [];
    return { ...refusal(400, RpcCode.unsupportedProtocolVersion, error), data: { supported, requested } };
  }
  return refusal(400, RpcCode.invalidRequest, error);
}

/**
 * A legacy request may not state a modern version in `_meta`: an upstream speaking both
 * eras could serve it statelessly while it was decided in its legacy session.
 */
export function legacyRefusal(messages: readonly ClientMessage[]): Refusal | null {
  for (const message of messages) {
    const stated = metaVersion(message);
    if (typeof stated === 'string' && isModern(stated)) {
      return refusal(
        400,
        RpcCode.headerMismatch,
        new InvalidRequest(`a legacy request states the protocol version '${stated}' in _meta`),
      );
    }
  }
  return null;
}

/**
 * The rules of a modern request that need no decision: its `_meta` states the version
 * the transport states (a request without it is malformed: -32602), and it carries no
 * legacy session, which in this era would be state nobody checks.
 */
export function modernRefusal(message: ClientMessage, version: string, legacySession: boolean): Refusal | null {
  if (legacySession) {
    return refusal(
      400,
      RpcCode.invalidRequest,
      new InvalidRequest(`a ${FIRST_MODERN_VERSION}+ request may not carry an Mcp-Session-Id`),
    );
  }
  if (message.type !== 'request') return null;
  const stated = metaVersion(message);
  if (stated === undefined) {
    return refusal(
      400,
      RpcCode.invalidParams,
      new InvalidRequest(`Invalid params: _meta["${META_PROTOCOL_VERSION}"] is required`),
    );
  }
  if (stated !== version) {
    return refusal(
      400,
      RpcCode.headerMismatch,
      new InvalidRequest(`the protocol version '${version}' does not match _meta's '${String(stated)}'`),
    );
  }
  return null;
}
