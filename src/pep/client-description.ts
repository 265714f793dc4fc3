import type { McpRequest } from '../decision/types.ts';

/** Longest client name or version kept; a longer one is cut, never refused for its length. */
const MAX_TEXT = 256;
/** Most capability names kept, and the longest. */
const MAX_CAPABILITIES = 32;
const MAX_CAPABILITY = 64;

const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';

/**
 * How the client describes itself in a request: `initialize`'s `clientInfo` and
 * `capabilities` (2025 eras), or the `_meta` `io.modelcontextprotocol/clientInfo` and
 * `clientCapabilities` every MCP 2026-07-28 request carries. Self-asserted, so recorded
 * and given to the policy, never taken for identity. Undefined when the request says nothing.
 */
export function clientDescriptionOf(method: string, params: Record<string, unknown>): McpRequest['client'] {
  const meta = objectOr(params._meta);
  const info = objectOr(method === 'initialize' ? params.clientInfo : meta?.[META_CLIENT_INFO]);
  const capabilities = objectOr(method === 'initialize' ? params.capabilities : meta?.[META_CLIENT_CAPABILITIES]);
  if (info === undefined && capabilities === undefined) return undefined;
  const client: { name?: string; version?: string; capabilities?: string[] } = {};
  if (typeof info?.name === 'string') client.name = info.name.slice(0, MAX_TEXT);
  if (typeof info?.version === 'string') client.version = info.version.slice(0, MAX_TEXT);
  if (capabilities !== undefined) {
    client.capabilities = Object.keys(capabilities)
      .filter((name) => name.length > 0 && name.length <= MAX_CAPABILITY)
      .sort()
      .slice(0, MAX_CAPABILITIES);
  }
  return client;
}

function objectOr(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
