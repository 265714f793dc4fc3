/**
 * The JSON-RPC messages an enforcement point judges, classified once, whether they came
 * off the wire (the proxy) or out of an SDK transport (the guard).
 */

export type JsonRpcId = string | number | null;

/** One client message, classified. */
export type ClientMessage =
  | {
      readonly type: 'request';
      readonly id: JsonRpcId;
      readonly method: string;
      readonly params: Record<string, unknown>;
    }
  | { readonly type: 'notification'; readonly method: string; readonly params: Record<string, unknown> }
  | { readonly type: 'response'; readonly id: JsonRpcId };

/** JSON-RPC and MCP error codes an enforcement point answers with. */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  internalError: -32603,
  /** mcp-warden: the decision denied the request; `data` carries reasons and decision id. */
  forbidden: -32003,
  /** The session is gone (expired, revoked, unknown): re-initialize. */
  sessionNotFound: -32001,
  /** MCP 2026-07-28: a request metadata header does not match the body. */
  headerMismatch: -32020,
  /** MCP 2026-07-28: the request's protocol version is not one the receiver supports. */
  unsupportedProtocolVersion: -32022,
  /** MCP 2025-11-25: the request needs the user to visit a URL first (URL-mode elicitation). */
  urlElicitationRequired: -32042,
  /** The upstream could not be reached. */
  upstreamUnavailable: -32004,
} as const;

/** A message that is not JSON-RPC an enforcement point can decide: answered with `rpcCode`, never forwarded. */
export class RpcParseError extends Error {
  readonly rpcCode: number;
  constructor(rpcCode: number, message: string) {
    super(message);
    this.name = 'RpcParseError';
    this.rpcCode = rpcCode;
  }
}

/** Classifies one parsed JSON-RPC message; throws {@link RpcParseError} for anything else. */
export function classify(item: unknown, index = 0): ClientMessage {
  const where = `message ${index}`;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where} is not an object`);
  }
  const m = item as Record<string, unknown>;
  if (m.jsonrpc !== '2.0')
    throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: jsonrpc must be "2.0"`);
  const hasId = 'id' in m;
  if (hasId && !isId(m.id))
    throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: id must be a string or number`);
  if (typeof m.method === 'string') {
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params))) {
      throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: params must be an object`);
    }
    const params = (m.params ?? {}) as Record<string, unknown>;
    return hasId
      ? { type: 'request', id: m.id as JsonRpcId, method: m.method, params }
      : { type: 'notification', method: m.method, params };
  }
  if (m.method !== undefined)
    throw new RpcParseError(RpcCode.invalidRequest, `Invalid Request: ${where}: method must be a string`);
  if (hasId && ('result' in m || 'error' in m)) return { type: 'response', id: m.id as JsonRpcId };
  throw new RpcParseError(
    RpcCode.invalidRequest,
    `Invalid Request: ${where} is neither a request, a notification nor a response`,
  );
}

function isId(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || value === null;
}

/** A JSON-RPC error response. */
export function rpcError(id: JsonRpcId, code: number, message: string, data?: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** The id of a message that can be answered, else null (a notification). */
export function idOf(message: ClientMessage): JsonRpcId {
  return message.type === 'notification' ? null : message.id;
}

/** The first request id among messages, for an answer about all of them. */
export function firstRequestId(messages: readonly ClientMessage[]): JsonRpcId {
  for (const message of messages) if (message.type === 'request') return message.id;
  return null;
}
