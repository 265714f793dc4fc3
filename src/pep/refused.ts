import type { Refusal } from './era.ts';
import { rpcError, type JsonRpcId } from './message.ts';

/**
 * The JSON-RPC answer to a message an enforcement point refuses on its own, before any
 * decision (an era rule of {@link Refusal}): its code, the reason under `data.reasons`,
 * and whatever error data the protocol defines for the code.
 */
export function refusedAnswer(id: JsonRpcId, problem: Refusal): Record<string, unknown> {
  return rpcError(id, problem.rpcCode, `Invalid Request: ${problem.reason.message}`, {
    ...problem.data,
    reasons: [problem.reason],
  });
}
