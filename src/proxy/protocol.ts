/**
 * The parts of MCP's JSON-RPC framing and Streamable HTTP transport the proxy reads.
 * Legacy era: protocol versions up to 2025-11-25 (initialize, `Mcp-Session-Id`).
 * Modern era: 2026-07-28 and later (no protocol sessions, request metadata headers).
 */

export type JsonRpcId = string | number | null;

/** One message of a POST body, classified. */
export type ClientMessage =
  | { readonly type: 'request'; readonly id: JsonRpcId; readonly method: string; readonly params: Record<string, unknown> }
  | { readonly type: 'notification'; readonly method: string; readonly params: Record<string, unknown> }
  | { readonly type: 'response'; readonly id: JsonRpcId };

/** JSON-RPC and MCP error codes the proxy answers with. */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  /** mcp-warden: the decision denied the request; `data` carries reasons and decision id. */
  forbidden: -32003,
  /** The session is gone (expired, revoked, unknown): re-initialize. */
  sessionNotFound: -32001,
  /** MCP 2026-07-28: a request metadata header does not match the body. */
  headerMismatch: -32020,
  /** The upstream could not be reached. */
  upstreamUnavailable: -32004,
} as const;

/** The first modern protocol version: no sessions, headers mirrored from the body. */
export const FIRST_MODERN_VERSION = '2026-07-28';

/** Whether a protocol version (YYYY-MM-DD) belongs to the modern, sessionless era. */
export function isModern(version: string | undefined): boolean {
  return version !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= FIRST_MODERN_VERSION;
}

export const HEADER = {
  sessionId: 'mcp-session-id',
  protocolVersion: 'mcp-protocol-version',
  method: 'mcp-method',
  name: 'mcp-name',
} as const;

/** The `_meta` key of the protocol version in a modern request. */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';

/** A body that is not JSON-RPC the proxy can decide: answered with this, never forwarded. */
export class RpcParseError extends Error {
  readonly rpcCode: number;
  constructor(rpcCode: number, message: string) {
    super(message);
    this.name = 'RpcParseError';
    this.rpcCode = rpcCode;
  }
}

/** Parses a POST body into messages; a batch (legacy 2025-03-26) gives several. */
export function parseMessages(body: Buffer): { messages: ClientMessage[]; raw: unknown[]; batch: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RpcParseError(RpcCode.parseError, 'Parse error: the body is not JSON');
  }
  const batch = Array.isArray(parsed);
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (items.length === 0) throw new RpcParseError(RpcCode.invalidRequest, 'Invalid Request: an empty batch');
  return { messages: items.map(classify), raw: items, batch };
}

function classify(item: unknown, index: number): ClientMessage {
  const where = `message ${index}`;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where} is not an object`);
  }
  const m = item as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: jsonrpc must be "2.0"`);
  const hasId = 'id' in m;
  if (hasId && !isId(m.id)) throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: id must be a string or number`);
  if (typeof m.method === 'string') {
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params))) {
      throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: params must be an object`);
    }
    const params = (m.params ?? {}) as Record<string, unknown>;
    return hasId ? { type: 'request', id: m.id as JsonRpcId, method: m.method, params } : { type: 'notification', method: m.method, params };
  }
  if (m.method !== undefined) throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: method must be a string`);
  if (hasId && ('result' in m || 'error' in m)) return { type: 'response', id: m.id as JsonRpcId };
  throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where} is neither a request, a notification nor a response`);
}

function isId(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || value === null;
}

/** A JSON-RPC error response. */
export function rpcError(id: JsonRpcId, code: number, message: string, data?: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** The protocol version a request states: its header, else the modern `_meta` field. */
export function statedVersion(header: string | undefined, message: ClientMessage | undefined): string | undefined {
  if (header !== undefined) return header;
  if (message === undefined || message.type === 'response') return undefined;
  const meta = message.params._meta;
  if (meta !== null && typeof meta === 'object') {
    const v = (meta as Record<string, unknown>)[META_PROTOCOL_VERSION];
    if (typeof v === 'string') return v;
  }
  if (message.method === 'initialize' && typeof message.params.protocolVersion === 'string') return message.params.protocolVersion;
  return undefined;
}
