import type { Principal } from '../identity/principal.ts';
import { usageOf, type SharedUse } from '../shared-use/tracker.ts';
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
  /** How shared the principal is (`identity.shared_accounts`); null or absent: not tracked. */
  shared?: SharedUse | null;
  session: SessionRecord | null;
  /** The task a `tasks/*` request names, once checked to be the principal's. */
  task?: SessionRecord | null;
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
      uri: uriOf(mcp),
      prompt: promptOf(mcp),
      protocol_version: mcp.protocol_version ?? null,
      client: mcp.client ?? null,
      candidates: mcp.candidates ?? null,
      tools: parts.tools ?? null,
    },
    principal: {
      ...parts.principal,
      shared: parts.shared?.shared ?? false,
      usage: parts.shared == null ? null : usageOf(parts.shared),
    },
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
    task:
      parts.task == null
        ? null
        : {
            id_hash: parts.task.id_hash,
            kind: parts.task.kind,
            created_at: parts.task.created_at * MS_TO_NS,
            expires_at: parts.task.expires_at * MS_TO_NS,
          },
    server: { id: parts.server },
    caller: { id: parts.caller.id, role: parts.caller.role },
    now_ns: parts.now * MS_TO_NS,
  };
}

/** The resource a request is about: its `uri` (`resources/*`), or what a completion completes. */
function uriOf(mcp: McpRequest): string | null {
  if (mcp.method.startsWith('resources/')) return mcp.params?.uri ?? null;
  const ref = mcp.method === 'completion/complete' ? mcp.params?.ref : undefined;
  return ref?.type === 'ref/resource' && typeof ref.uri === 'string' ? ref.uri : null;
}

/** The prompt a request is about: `prompts/get`'s name, or what a completion completes. */
function promptOf(mcp: McpRequest): string | null {
  if (mcp.method === 'prompts/get') return mcp.params?.name ?? null;
  const ref = mcp.method === 'completion/complete' ? mcp.params?.ref : undefined;
  return ref?.type === 'ref/prompt' && typeof ref.name === 'string' ? ref.name : null;
}
