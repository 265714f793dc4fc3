import type { McpRequest } from '../decision/types.ts';
import type { ClientMessage } from './message.ts';
import { TRANSPORT_METHOD } from './warden.ts';

/** The MCP request a client message stands for in a decision. */
export function mcpRequestOf(message: ClientMessage, protocolVersion: string | undefined): McpRequest {
  if (message.type === 'response') return { method: TRANSPORT_METHOD.response, protocol_version: protocolVersion };
  const { name, arguments: args, uri } = message.params;
  return {
    method: message.method,
    params: {
      name: typeof name === 'string' ? name : undefined,
      arguments:
        args !== null && typeof args === 'object' && !Array.isArray(args)
          ? (args as Record<string, unknown>)
          : undefined,
      uri: typeof uri === 'string' ? uri : undefined,
    },
    protocol_version: protocolVersion,
  };
}
