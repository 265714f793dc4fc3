import type { McpRequest } from '../decision/types.ts';
import { clientDescriptionOf } from './client-description.ts';
import type { ClientMessage } from './message.ts';
import { TRANSPORT_METHOD } from './warden.ts';

/** The MCP request a client message stands for in a decision. */
export function mcpRequestOf(message: ClientMessage, protocolVersion: string | undefined): McpRequest {
  if (message.type === 'response') return { method: TRANSPORT_METHOD.response, protocol_version: protocolVersion };
  const { name, arguments: args, uri, taskId, ref, requestState } = message.params;
  return {
    method: message.method,
    params: {
      name: typeof name === 'string' ? name : undefined,
      arguments:
        args !== null && typeof args === 'object' && !Array.isArray(args)
          ? (args as Record<string, unknown>)
          : undefined,
      uri: typeof uri === 'string' ? uri : undefined,
      taskId: typeof taskId === 'string' ? taskId : undefined,
      // Present but not a string: still presented, so that the decision refuses it.
      requestState: requestState === undefined || typeof requestState === 'string' ? requestState : '',
      ref: refOf(ref),
    },
    protocol_version: protocolVersion,
    client: clientDescriptionOf(message.method, message.params),
  };
}

/** A completion's `ref`, with only the fields a decision reads, when they are strings. */
function refOf(ref: unknown): { type?: string; name?: string; uri?: string } | undefined {
  if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) return undefined;
  const out: { type?: string; name?: string; uri?: string } = {};
  for (const key of ['type', 'name', 'uri'] as const) {
    const value = (ref as Record<string, unknown>)[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}
