import type { Principal } from '../identity/principal.ts';
import type { PolicyInput } from '../policy/engine.ts';
import type { SessionRecord } from '../session/record.ts';
import type { Caller, McpRequest } from './types.ts';

const MS_TO_NS = 1_000_000;

/** The tool a request names, when its method calls one. */
export function toolOf(mcp: McpRequest): string | null {
  return mcp.method === 'tools/call' ? (mcp.params?.name ?? null) : null;
}

/** Builds the policy input of DESIGN.md ("Policy input and output"). */
export function buildPolicyInput(parts: {
  mcp: McpRequest;
  principal: Principal;
  session: SessionRecord | null;
  server: string;
  caller: Caller;
  now: number;
  tools?: readonly string[] | null;
}): PolicyInput {
  const { mcp, session } = parts;
  return {
    request: {
      method: mcp.method,
      tool: toolOf(mcp),
      arguments: mcp.params?.arguments ?? null,
      uri: mcp.method.startsWith('resources/') ? (mcp.params?.uri ?? null) : null,
      prompt: mcp.method === 'prompts/get' ? (mcp.params?.name ?? null) : null,
      protocol_version: mcp.protocol_version ?? null,
      candidates: mcp.candidates ?? null,
      tools: parts.tools ?? null,
    },
    principal: parts.principal,
    session:
      session === null
        ? null
        : {
            id_hash: session.id_hash,
            kind: session.kind,
            scope: session.scope,
            created_at: session.created_at * MS_TO_NS,
            expires_at: session.expires_at * MS_TO_NS,
            context: session.context,
          },
    server: { id: parts.server },
    caller: { id: parts.caller.id, role: parts.caller.role },
    now_ns: parts.now * MS_TO_NS,
  };
}
