import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { Decision, DecideRequest, McpRequest } from '../decision/types.ts';
import { PdpUnavailable, WardenError, type Reason } from '../errors.ts';
import { filterListResult, isListMethod } from '../pep/list-filter.ts';
import { TRANSPORT_METHOD, WardenRefusal, type Warden } from '../pep/warden.ts';

/** JSON-RPC error code of a request the guard refused (implementation-defined server range). */
export const FORBIDDEN_CODE = -32003;

/** Options of {@link guardTransport}. */
export interface GuardOptions {
  /** The decision point: {@link createWardenClient} or {@link inProcessWarden}. */
  readonly warden: Warden;
  /** The MCP server id (its canonical resource URI): the audience of the tokens. */
  readonly server: string;
  /** The client's bearer token of a message; by default `extra.authInfo.token`. */
  readonly token?: ((extra: MessageExtraInfo | undefined) => string | undefined) | undefined;
  /** Called when the warden session ended (revoked, expired, unknown); by default closes the transport. */
  readonly onSessionEnd?: (() => void) | undefined;
  /** Ask for a widening when a tool call is denied only for the session's scope (default true). */
  readonly widenOnDemand?: boolean | undefined;
}

// Denies that mean the warden session is gone: the client must initialize again.
const SESSION_ENDED = new Set(['session_revoked', 'session_expired', 'session_unknown']);
// From this revision on MCP has no protocol session: requests are decided with the token only.
const STATELESS_REVISION = '2026-07-28';

type Delivery = () => Promise<void>;

/**
 * Wraps any MCP server transport so that every incoming request and notification is
 * decided before the server sees it; a deny is answered by the guard itself. Pass the
 * result to `server.connect()`. Set the inner transport's `onclose`/`onerror` before
 * connecting: the guard chains them.
 */
export function guardTransport(transport: Transport, options: GuardOptions): Transport {
  if (typeof options.warden?.decide !== 'function') throw new TypeError('guardTransport needs a warden');
  if (typeof options.server !== 'string' || options.server.length === 0) throw new TypeError('guardTransport needs the server id');
  return new GuardedTransport(transport, options);
}

interface ListedRequest {
  readonly method: string;
  readonly token: string | undefined;
  readonly session: string | undefined;
}

class GuardedTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;
  setProtocolVersion?: ((version: string) => void) | undefined;

  readonly #inner: Transport;
  readonly #options: GuardOptions;
  /** The warden session of this transport; its id never leaves the process. */
  #session: string | undefined;
  #sessionToken: string | undefined;
  /** Asked for by the client's initialize, then the one the server answered. */
  #protocolVersion: string | undefined;
  #initializeId: RequestId | undefined;
  /** Settles once `initialize` was judged: later messages need its session. */
  #initialized: Promise<void> = Promise.resolve();
  /** Deliveries in arrival order, whatever order their decisions finish in. */
  #queue: Promise<void> = Promise.resolve();
  readonly #lists = new Map<RequestId, ListedRequest>();

  constructor(inner: Transport, options: GuardOptions) {
    this.#inner = inner;
    this.#options = options;
    if (inner.setProtocolVersion !== undefined) this.setProtocolVersion = (version) => inner.setProtocolVersion?.(version);
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  async start(): Promise<void> {
    const inner = this.#inner;
    const previousClose = inner.onclose;
    const previousError = inner.onerror;
    inner.onmessage = (message, extra) => this.#receive(message, extra);
    inner.onclose = () => {
      previousClose?.();
      this.#lists.clear();
      this.#releaseSession();
      this.onclose?.();
    };
    inner.onerror = (error) => {
      previousError?.(error);
      this.onerror?.(error);
    };
    await inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isJSONRPCResultResponse(message) && message.id === this.#initializeId) this.#negotiated(message.result);
    await this.#inner.send(await this.#filter(message), options);
  }

  async close(): Promise<void> {
    await this.#inner.close();
  }

  #receive(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): void {
    // Decisions run concurrently; deliveries keep the transport's order (a cancellation
    // must not overtake the request it cancels).
    const judged = this.#judge(message, extra).catch((err: unknown) => this.#failed(message, err));
    this.#queue = this.#queue
      .then(() => judged)
      .then((deliver) => deliver())
      .catch((err: unknown) => this.onerror?.(err instanceof Error ? err : new Error(String(err))));
  }

  #judge(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): Promise<Delivery> {
    if (isJSONRPCRequest(message) && message.method === 'initialize') {
      const judged = this.#initialize(message, extra);
      this.#initialized = judged.then(
        () => undefined,
        () => undefined,
      );
      return judged;
    }
    if (isJSONRPCRequest(message) || isJSONRPCNotification(message)) {
      return this.#initialized.then(() => this.#check(message, extra));
    }
    // A client's answer to a server request (sampling, elicitation, roots) is decided as
    // the proxy decides it: the session must still be this principal's.
    return this.#initialized.then(() => this.#checkResponse(message, extra));
  }

  async #initialize(message: JSONRPCRequest, extra: MessageExtraInfo | undefined): Promise<Delivery> {
    const token = this.#token(extra);
    this.#protocolVersion = stringOr(message.params?.protocolVersion);
    this.#initializeId = message.id;
    const decision = await this.#options.warden.decide(this.#decideRequest(message, token, undefined));
    if (!decision.allow) return this.#refusal(message.id, decision.reasons, decision.decision_id, true);
    // One stateful transport is one MCP session; stateless ones (no id) get no warden
    // session. The version the client asks for cannot opt out of it: only the one the
    // server answers can (see #negotiated).
    if (this.#inner.sessionId === undefined) return () => this.#deliver(message, extra);
    try {
      const view = await this.#options.warden.createSession({ token, server: this.#options.server, kind: 'mcp-session' });
      if (view.id === undefined) throw new WardenRefusal(PdpUnavailable.code, 'the warden created a session without an id');
      this.#session = view.id;
      this.#sessionToken = token;
    } catch (err) {
      const refusal = err instanceof WardenRefusal ? err : new WardenRefusal(PdpUnavailable.code, 'the session could not be created');
      // A refused initialize leaves a transport the SDK will not initialize again: end it.
      return this.#refusal(message.id, [{ code: refusal.code, message: refusal.message }, ...refusal.reasons], null, true);
    }
    return () => this.#deliver(message, extra);
  }

  async #check(message: JSONRPCRequest | JSONRPCNotification, extra: MessageExtraInfo | undefined): Promise<Delivery> {
    const token = this.#token(extra);
    const version = stringOr(extra?.requestInfo?.headers['mcp-protocol-version']) ?? this.#protocolVersion;
    const session = this.#session;
    const request = this.#decideRequest(message, token, session, version);
    let decision = await this.#options.warden.decide(request);
    if (session !== undefined && this.#widenable(decision, request.mcp)) {
      decision = await this.#widened(decision, session, token, request);
    }
    // A denied notification has no one to answer: it is dropped.
    if (!isJSONRPCRequest(message)) return decision.allow ? () => this.#deliver(message, extra) : async () => undefined;
    if (!decision.allow) {
      const ended = session !== undefined && decision.reasons.some((r) => SESSION_ENDED.has(r.code));
      return this.#refusal(message.id, decision.reasons, decision.decision_id, ended);
    }
    if (isListMethod(message.method)) {
      this.#lists.set(message.id, { method: message.method, token, session });
    }
    return () => this.#deliver(message, extra);
  }

  async #checkResponse(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): Promise<Delivery> {
    const mcp: McpRequest = { method: TRANSPORT_METHOD.response, protocol_version: this.#protocolVersion };
    const decision = await this.#options.warden.decide({ token: this.#token(extra), session: this.#session, server: this.#options.server, mcp });
    return decision.allow ? () => this.#deliver(message, extra) : async () => undefined;
  }

  /** Only a tool call denied for nothing but the session's scope may be widened. */
  #widenable(decision: Decision, mcp: McpRequest): boolean {
    return (
      this.#options.widenOnDemand !== false &&
      !decision.allow &&
      mcp.method === 'tools/call' &&
      typeof mcp.params?.name === 'string' &&
      decision.reasons.length > 0 &&
      decision.reasons.every((r) => r.code === 'tool_not_in_session_scope')
    );
  }

  /** A widening is a new authorization by policy (and audited); then the call is decided again. */
  async #widened(denied: Decision, session: string, token: string | undefined, request: DecideRequest): Promise<Decision> {
    try {
      await this.#options.warden.widenSession({ id: session, token, add: [request.mcp.params?.name as string] });
    } catch (err) {
      // The engine stops at the scope check; the refused widening tells why the tool is
      // out of reach (tool_not_permitted, destructive_requires_role, …), so the client hears it.
      return err instanceof WardenRefusal ? { ...denied, reasons: [...denied.reasons, ...err.reasons] } : denied;
    }
    return this.#options.warden.decide(request);
  }

  #decideRequest(
    message: JSONRPCRequest | JSONRPCNotification,
    token: string | undefined,
    session: string | undefined,
    version = this.#protocolVersion,
  ): DecideRequest {
    const params = message.params ?? {};
    const mcp: McpRequest = {
      method: message.method,
      params: { name: stringOr(params.name), arguments: objectOr(params.arguments), uri: stringOr(params.uri) },
      protocol_version: version,
    };
    return { token, session, server: this.#options.server, mcp };
  }

  /** Answers a refused request with a JSON-RPC error; it never reaches the server. */
  #refusal(id: RequestId, reasons: readonly Reason[], decisionId: string | null, endSession: boolean): Delivery {
    return async () => {
      const message = `Forbidden: ${reasons[0]?.message ?? 'denied'}`;
      const data = { reasons, decision_id: decisionId };
      await this.#inner.send({ jsonrpc: '2.0', id, error: { code: FORBIDDEN_CODE, message, data } }, { relatedRequestId: id });
      if (endSession) this.#endSession();
    };
  }

  /** A judgement that threw (it should not): deny the request, drop a notification. */
  #failed(message: JSONRPCMessage, err: unknown): Delivery {
    this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    if (!isJSONRPCRequest(message)) return async () => undefined;
    return this.#refusal(message.id, [{ code: WardenError.code, message: 'the guard failed to decide' }], null, false);
  }

  async #deliver(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): Promise<void> {
    this.onmessage?.(message, extra);
  }

  /** Filters a list result to what the decision lets this principal see. */
  async #filter(message: JSONRPCMessage): Promise<JSONRPCMessage> {
    if (!('id' in message) || message.id === undefined) return message;
    const listed = this.#lists.get(message.id);
    if (listed === undefined) return message;
    this.#lists.delete(message.id);
    if (!isJSONRPCResultResponse(message)) return message;
    const result = await filterListResult(listed.method, message.result, (candidates) =>
      this.#visibleAmong(listed, candidates),
    );
    return { ...message, result };
  }

  /**
   * What the principal may see is decided among what the server returned: the names
   * (or URIs) go to the policy as `candidates` of the same list method.
   */
  async #visibleAmong(listed: ListedRequest, candidates: readonly string[]): Promise<readonly string[] | null> {
    const decision = await this.#options.warden.decide({
      token: listed.token,
      session: listed.session,
      server: this.#options.server,
      mcp: { method: listed.method, candidates, protocol_version: this.#protocolVersion },
    });
    return decision.allow ? decision.visible_tools : null;
  }

  /** From MCP 2026-07-28 on there is no protocol session: decide with the token only. */
  #negotiated(result: Record<string, unknown>): void {
    this.#protocolVersion = stringOr(result.protocolVersion) ?? this.#protocolVersion;
    if (isStateless(this.#protocolVersion)) this.#releaseSession();
  }

  #token(extra: MessageExtraInfo | undefined): string | undefined {
    const token = this.#options.token === undefined ? extra?.authInfo?.token : this.#options.token(extra);
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  }

  #endSession(): void {
    this.#session = undefined;
    if (this.#options.onSessionEnd !== undefined) this.#options.onSessionEnd();
    else this.#inner.close().catch((err: unknown) => this.onerror?.(err instanceof Error ? err : new Error(String(err))));
  }

  /** Revokes this transport's warden session: best effort, it expires anyway. */
  #releaseSession(): void {
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) this.#options.warden.revokeSession({ id: session, token: this.#sessionToken }).catch(() => undefined);
  }
}

function isStateless(version: string | undefined): boolean {
  return version !== undefined && version >= STATELESS_REVISION;
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function objectOr(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
