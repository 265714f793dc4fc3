import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { denialKind, forbidden, refusalOf, refusalReasons, type Denied } from '../pep/answers.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import { decideRequest, mintedStateHooks, visibleAmong, type EnforcementContext } from '../pep/enforce.ts';
import { isModern } from '../pep/era.ts';
import { screenServerMessage } from '../pep/list-filter.ts';
import { mcpRequestOf } from '../pep/mcp-request.ts';
import { classify, RpcCode } from '../pep/message.ts';
import { IMPLEMENTED_OBLIGATIONS } from '../pep/obligations.ts';
import { PendingIds } from '../pep/pending-ids.ts';
import { StreamSupervisor } from '../pep/stream-supervisor.ts';
import { PdpUnavailable } from '../errors.ts';
import { WardenRefusal, type Warden } from '../pep/warden.ts';

/** JSON-RPC error code of a request the guard refused (implementation-defined server range). */
export const FORBIDDEN_CODE = RpcCode.forbidden;

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
  /**
   * Checks the session's authority while the transport is open, and ends the session
   * when it is revoked or expires, or its token expires (default: every 500 ms; `false`
   * turns it off). Share one supervisor between guards to batch their checks.
   */
  readonly supervisor?: StreamSupervisor | false | undefined;
}

type Delivery = () => Promise<void>;

const OBLIGATIONS: ReadonlySet<string> = new Set(IMPLEMENTED_OBLIGATIONS.guard);

/** The pending-ids scope of a guarded transport: it is one session, or one stateless exchange. */
const SCOPE = 'transport';

/**
 * Wraps any MCP server transport so that every incoming request and notification is
 * decided before the server sees it; a deny is answered by the guard itself. Pass the
 * result to `server.connect()`. Set the inner transport's `onclose`/`onerror` before
 * connecting: the guard chains them. The rules are the enforcement core's (`src/pep/`),
 * the same the proxy applies.
 */
export function guardTransport(transport: Transport, options: GuardOptions): Transport {
  if (typeof options.warden?.decide !== 'function') throw new TypeError('guardTransport needs a warden');
  if (typeof options.server !== 'string' || options.server.length === 0)
    throw new TypeError('guardTransport needs the server id');
  return new GuardedTransport(transport, options);
}

interface ListedRequest {
  readonly pep: EnforcementContext;
}

class GuardedTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;
  setProtocolVersion?: ((version: string) => void) | undefined;

  readonly #inner: Transport;
  readonly #options: GuardOptions;
  readonly #supervisor: StreamSupervisor | undefined;
  /** The warden session of this transport; its id never leaves the process. */
  #session: string | undefined;
  #sessionToken: string | undefined;
  #unwatch: (() => void) | undefined;
  /** Asked for by the client's initialize, then the one the server answered. */
  #protocolVersion: string | undefined;
  #initializeId: RequestId | undefined;
  /** Settles once `initialize` was judged: later messages need its session. */
  #initialized: Promise<void> = Promise.resolve();
  /** Deliveries in arrival order, whatever order their decisions finish in. */
  #queue: Promise<void> = Promise.resolve();
  readonly #pending = new PendingIds();
  readonly #released = new Map<
    string,
    { release: () => void; listed: ListedRequest; handleResult: HandleResult | undefined }
  >();

  constructor(inner: Transport, options: GuardOptions) {
    this.#inner = inner;
    this.#options = options;
    this.#supervisor =
      options.supervisor === false
        ? undefined
        : (options.supervisor ??
          new StreamSupervisor({ warden: options.warden, intervalMs: 500, unavailableGraceMs: 5_000 }));
    if (inner.setProtocolVersion !== undefined)
      this.setProtocolVersion = (version) => inner.setProtocolVersion?.(version);
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
      for (const { release } of this.#released.values()) release();
      this.#released.clear();
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
    const screened = await this.#screen(message);
    if (screened !== undefined) await this.#inner.send(screened, options);
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
    // A client's answer to a server request (sampling, elicitation, roots) is decided as
    // the proxy decides it: the session must still be this principal's.
    return this.#initialized.then(() => this.#check(message, extra));
  }

  async #initialize(message: JSONRPCRequest, extra: MessageExtraInfo | undefined): Promise<Delivery> {
    const pep = this.#context(extra, undefined, undefined);
    this.#protocolVersion =
      typeof message.params?.protocolVersion === 'string' ? message.params.protocolVersion : undefined;
    this.#initializeId = message.id;
    const decision = await decideRequest(
      { ...pep, protocolVersion: this.#protocolVersion },
      mcpRequestOf(classify(message), this.#protocolVersion),
    );
    if (!decision.allow) return this.#refusal(message.id, decision, true);
    // One stateful transport is one MCP session; stateless ones (no id) get no warden
    // session. The version the client asks for cannot opt out of it: only the one the
    // server answers can (see #negotiated).
    if (this.#inner.sessionId === undefined) return () => this.#deliver(message, extra);
    try {
      const view = await this.#options.warden.createSession({
        token: pep.token,
        server: this.#options.server,
        kind: 'mcp-session',
      });
      if (view.id === undefined)
        throw new WardenRefusal(PdpUnavailable.code, 'the warden created a session without an id');
      this.#session = view.id;
      this.#sessionToken = pep.token;
      this.#unwatch = this.#supervisor?.watch(
        { token: pep.token, session: view.id, server: this.#options.server },
        () => this.#endSession(),
      );
    } catch (err) {
      // A refused initialize leaves a transport the SDK will not initialize again: end it.
      return this.#refusal(
        message.id,
        { reasons: refusalReasons(refusalOf(err, 'creating the session')), decision_id: null },
        true,
      );
    }
    return () => this.#deliver(message, extra);
  }

  async #check(raw: JSONRPCMessage, extra: MessageExtraInfo | undefined): Promise<Delivery> {
    const message = classify(raw);
    const version = stringOr(extra?.requestInfo?.headers['mcp-protocol-version']) ?? this.#protocolVersion;
    const pep = this.#context(extra, this.#session, version);
    if (message.type === 'request') {
      const claimed = this.#pending.claim(SCOPE, [{ id: message.id, method: message.method }]);
      if (typeof claimed !== 'function') {
        return this.#refusal(
          message.id as RequestId,
          { reasons: [{ code: claimed.code, message: claimed.message }], decision_id: null },
          false,
        );
      }
      const decision = await decideRequest(pep, mcpRequestOf(message, version));
      if (!decision.allow) {
        claimed();
        return this.#refusal(
          message.id as RequestId,
          decision,
          pep.session !== undefined && denialKind(decision.reasons) === 'state_gone',
        );
      }
      this.#released.set(String(message.id), {
        release: claimed,
        listed: { pep },
        handleResult: decision.handle_result,
      });
      return () => this.#deliver(raw, extra);
    }
    // A denied notification or client response has no one to answer: it is dropped.
    const decision = await decideRequest(pep, mcpRequestOf(message, version));
    return decision.allow ? () => this.#deliver(raw, extra) : async () => undefined;
  }

  #context(
    extra: MessageExtraInfo | undefined,
    session: string | undefined,
    version: string | undefined,
  ): EnforcementContext {
    return {
      warden: this.#options.warden,
      server: this.#options.server,
      token: this.#token(extra),
      session,
      protocolVersion: version ?? this.#protocolVersion,
      widenOnDemand: this.#options.widenOnDemand !== false,
      obligations: OBLIGATIONS,
    };
  }

  /** Answers a refused request with a JSON-RPC error; it never reaches the server. */
  #refusal(id: RequestId, decision: Denied, endSession: boolean): Delivery {
    return async () => {
      const answer = forbidden(id, decision) as JSONRPCMessage;
      await this.#inner.send(answer, { relatedRequestId: id });
      if (endSession) this.#endSession();
    };
  }

  /** A judgement that threw (it should not): deny the request, drop a notification. */
  #failed(message: JSONRPCMessage, err: unknown): Delivery {
    this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    if (!isJSONRPCRequest(message)) return async () => undefined;
    return this.#refusal(message.id, { reasons: refusalReasons(refusalOf(err, 'deciding')), decision_id: null }, false);
  }

  async #deliver(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): Promise<void> {
    this.onmessage?.(message, extra);
  }

  /**
   * A server message on its way out, screened by the core: the answer to a list request
   * filtered to what the decision lets this principal see, a list-shaped answer to no
   * pending request withheld. An answer releases its request's id.
   */
  async #screen(message: JSONRPCMessage): Promise<JSONRPCMessage | undefined> {
    if (!('id' in message) || message.id === undefined || 'method' in message) return message;
    const pending = this.#released.get(String(message.id));
    const pep = pending?.listed.pep ?? this.#context(undefined, this.#session, undefined);
    const screened = await screenServerMessage(message, {
      pendingMethod: (id) => this.#pending.methodOf(SCOPE, id),
      pendingHandleResult: (id) => this.#released.get(String(id))?.handleResult,
      visibleFor: (method) => visibleAmong(pep, method),
      modern: isModern(this.#protocolVersion),
      ...mintedStateHooks(pep),
    });
    if (pending !== undefined) {
      this.#released.delete(String(message.id));
      pending.release();
    }
    return screened as JSONRPCMessage | undefined;
  }

  /** From MCP 2026-07-28 on there is no protocol session: decide with the token only. */
  #negotiated(result: Record<string, unknown>): void {
    this.#protocolVersion = stringOr(result.protocolVersion) ?? this.#protocolVersion;
    if (isModern(this.#protocolVersion)) this.#releaseSession();
  }

  #token(extra: MessageExtraInfo | undefined): string | undefined {
    const token = this.#options.token === undefined ? extra?.authInfo?.token : this.#options.token(extra);
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  }

  #endSession(): void {
    this.#session = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.#options.onSessionEnd !== undefined) this.#options.onSessionEnd();
    else
      this.#inner.close().catch((err: unknown) => this.onerror?.(err instanceof Error ? err : new Error(String(err))));
  }

  /** Revokes this transport's warden session: best effort, it expires anyway. */
  #releaseSession(): void {
    const session = this.#session;
    this.#session = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (session !== undefined)
      this.#options.warden.revokeSession({ id: session, token: this.#sessionToken }).catch(() => undefined);
  }
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
