import { AmbiguousMessage } from '../errors.ts';
import { classify, RpcCode, RpcParseError, type ClientMessage } from '../pep/message.ts';
import { parseStrictJson } from '../pep/strict-json.ts';

/** The Streamable HTTP headers the proxy reads. */
export const HEADER = {
  sessionId: 'mcp-session-id',
  protocolVersion: 'mcp-protocol-version',
  method: 'mcp-method',
  name: 'mcp-name',
  /** The presenting agent's JWT-SVID, beside the client's token; read here, never forwarded. */
  agentIdentity: 'agent-identity',
} as const;

/** A body parsers could read two ways: refused with `ambiguous_message`, never forwarded. */
export class AmbiguousBody extends RpcParseError {
  readonly reason: { code: string; message: string };
  constructor(err: AmbiguousMessage) {
    super(RpcCode.invalidRequest, `Invalid Request: ${err.message}`);
    this.reason = { code: err.code, message: err.message };
  }
}

/**
 * Parses a POST body into messages (a legacy batch gives several). The body is read
 * strictly: what is decided must be what the upstream reads, so a duplicate key, or a
 * key that folds onto a protocol field, refuses the whole body.
 */
export function parseMessages(body: Buffer): { messages: ClientMessage[]; raw: unknown[]; batch: boolean } {
  let parsed: unknown;
  try {
    parsed = parseStrictJson(body);
  } catch (err) {
    if (err instanceof AmbiguousMessage) throw new AmbiguousBody(err);
    throw new RpcParseError(RpcCode.parseError, 'Parse error: the body is not JSON');
  }
  const batch = Array.isArray(parsed);
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (items.length === 0) throw new RpcParseError(RpcCode.invalidRequest, 'Invalid Request: an empty batch');
  return { messages: items.map((item, i) => classify(item, i)), raw: items, batch };
}
