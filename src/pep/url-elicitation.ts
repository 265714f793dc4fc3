import type { Decision } from '../decision/types.ts';
import { denialData, forbidden, type Denied } from './answers.ts';
import { isModern } from './era.ts';
import { RpcCode, rpcError, type JsonRpcId } from './message.ts';

/** The first version with URL-mode elicitation. */
const FIRST_URL_ELICITATION_VERSION = '2025-11-25';
/** The key of the approval in an MCP 2026-07-28 `InputRequiredResult`'s `inputRequests`. */
export const APPROVAL_INPUT_KEY = 'io.github.mcp-warden/approval';
const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';

/**
 * Whether client capabilities (initialize's `capabilities`, or a 2026-07-28 request's
 * `_meta` `clientCapabilities`) declare URL-mode elicitation: `elicitation.url`.
 */
export function declaresUrlElicitation(capabilities: unknown): boolean {
  const url = field(field(capabilities, 'elicitation'), 'url');
  return url !== null && typeof url === 'object' && !Array.isArray(url);
}

/**
 * Whether the client of a request takes URL-mode elicitation: a 2026-07-28 request says
 * so in its own `_meta`; in a legacy session, what its initialize declared counts.
 */
export function acceptsUrlElicitation(
  request: { readonly method: string; readonly params: Record<string, unknown> },
  protocolVersion: string | undefined,
  declaredAtInitialize: boolean,
): boolean {
  if (!isModern(protocolVersion)) return declaredAtInitialize;
  const stated =
    request.method === 'initialize'
      ? request.params.capabilities
      : field(request.params._meta, META_CLIENT_CAPABILITIES);
  return declaresUrlElicitation(stated);
}

/**
 * The answer to a request the decision denied. A call parked for approval reaches a
 * client that declared URL-mode elicitation the way MCP has it: in 2025-11-25, the error
 * `URLElicitationRequired` (-32042) naming the approval page; in 2026-07-28, an
 * `InputRequiredResult` with one URL elicitation. Either way the client shows the link
 * and retries the same call once it is approved. Any other client, or era, gets the
 * deny (-32003) whose data names the approval.
 */
export function deniedAnswer(
  id: JsonRpcId,
  decision: Denied & Pick<Decision, 'approval'>,
  client: { readonly protocolVersion: string | undefined; readonly urlElicitation: boolean },
): Record<string, unknown> {
  const { approval } = decision;
  if (approval === undefined) return forbidden(id, decision);
  const data = { ...denialData(decision.reasons, decision.decision_id), approval };
  const version = client.protocolVersion;
  const elicits = client.urlElicitation && approval.url !== null && version !== undefined;
  const why = approval.reason ?? 'this call needs an approval';
  const message = `Approval required: ${why}. Open the link to approve it, then retry.`;
  if (elicits && isModern(version)) {
    return {
      jsonrpc: '2.0',
      id,
      result: {
        resultType: 'input_required',
        inputRequests: {
          [APPROVAL_INPUT_KEY]: { method: 'elicitation/create', params: { mode: 'url', url: approval.url, message } },
        },
        _meta: { [APPROVAL_INPUT_KEY]: data },
      },
    };
  }
  if (elicits && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= FIRST_URL_ELICITATION_VERSION) {
    return rpcError(id, RpcCode.urlElicitationRequired, message, {
      elicitations: [{ mode: 'url', elicitationId: approval.id, url: approval.url, message }],
      ...data,
    });
  }
  return rpcError(id, RpcCode.forbidden, `Forbidden: ${decision.reasons[0]?.message ?? 'denied'}`, data);
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
