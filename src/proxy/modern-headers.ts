import { META_PROTOCOL_VERSION } from '../pep/era.ts';
import type { ClientMessage } from '../pep/message.ts';
import { HEADER } from './protocol.ts';

/**
 * The methods whose `Mcp-Name` header is required, and the body field it mirrors (the
 * tasks extension `io.modelcontextprotocol/tasks` names the task).
 */
const NAMED: Readonly<Record<string, 'name' | 'uri' | 'taskId'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/**
 * Decodes a header value that may carry MCP's Base64 sentinel (`=?base64?…?=`).
 * Returns undefined for a malformed sentinel or bytes that are not UTF-8.
 */
export function decodeHeaderValue(raw: string): string | undefined {
  if (!raw.startsWith('=?base64?')) return raw;
  const match = SENTINEL.exec(raw);
  if (match === null || match[1]!.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(match[1]!, 'base64');
  // Canonical Base64 only: a value that does not re-encode to itself is refused.
  if (bytes.toString('base64') !== match[1]) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Checks a modern (2026-07-28+) request's metadata headers against its body, as the
 * transport's Server Validation requires: the proxy decides on the body, an intermediary
 * before it may have routed on the headers, and the two must agree. Returns what does
 * not match, or null.
 */
export function headerMismatch(
  headers: Record<string, string | string[] | undefined>,
  message: ClientMessage,
): string | null {
  if (message.type === 'response') return 'a client may not send a JSON-RPC response in this protocol version';
  const version = single(headers[HEADER.protocolVersion]);
  const meta = message.params._meta;
  const bodyVersion =
    meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>)[META_PROTOCOL_VERSION] : undefined;
  if (version === undefined) return 'the MCP-Protocol-Version header is missing';
  if (bodyVersion !== undefined && bodyVersion !== version) {
    return `MCP-Protocol-Version header value '${version}' does not match body value '${String(bodyVersion)}'`;
  }
  const method = single(headers[HEADER.method]);
  if (method === undefined) {
    return message.type === 'request' ? 'the Mcp-Method header is missing' : null;
  }
  if (method !== message.method)
    return `Mcp-Method header value '${method}' does not match body value '${message.method}'`;
  const field = NAMED[message.method];
  const rawName = single(headers[HEADER.name]);
  if (field === undefined)
    return rawName === undefined ? null : `an Mcp-Name header is not expected for ${message.method}`;
  const bodyValue = message.params[field];
  if (rawName === undefined) return 'the Mcp-Name header is missing';
  const name = decodeHeaderValue(rawName);
  if (name === undefined) return 'the Mcp-Name header carries a malformed Base64 value';
  if (name !== bodyValue) return `Mcp-Name header value '${name}' does not match body value '${String(bodyValue)}'`;
  return null;
}

function single(value: string | string[] | undefined): string | undefined {
  // Node joins repeated headers with ", " except for a few; a repeated MCP header is ambiguous.
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}
