import type { Transport as TransportV1, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { Transport as TransportV2 } from '@modelcontextprotocol/server';
import { denialKind, forbidden, refusalOf, refusalReasons, type Denied } from '../pep/answers.ts';
import type { HandleResult } from '../policy/handle-result.ts';
import {
  credentialsOf,
  decideRequest,
  mintedStateHooks,
  visibleAmong,
  type EnforcementContext,
} from '../pep/enforce.ts';
import { isModern, statedVersion, type Era, type Refusal } from '../pep/era.ts';
import { screenServerMessage } from '../pep/list-filter.ts';
import { mcpRequestOf } from '../pep/mcp-request.ts';
import { classify, RpcCode, type ClientMessage } from '../pep/message.ts';
import { PendingIds } from '../pep/pending-ids.ts';
import { refusedAnswer } from '../pep/refused.ts';
import type { StreamSupervisor } from '../pep/stream-supervisor.ts';
import { unsealedRequest } from '../pep/unsealed.ts';
import { acceptsUrlElicitation, declaresUrlElicitation, deniedAnswer } from '../pep/url-elicitation.ts';
import { PdpUnavailable } from '../errors.ts';
import { WardenRefusal } from '../pep/warden.ts';
import { eraProblem, isInitialize, servedEra } from './era.ts';
import { classifiedEra, headerOf, type GuardExtra } from './extra.ts';
import { assertGuardOptions, defaultSupervisor, guardContext, type GuardOptions } from './options.ts';

export type { GuardOptions } from './options.ts';

/** JSON-RPC error code of a request the guard refused (implementation-defined server range). */
export const FORBIDDEN_CODE = RpcCode.forbidden;

/** The transport shape v1 and v2 of the SDK share, as far as the guard uses it. */
interface ServerTransport {
  start(): Promise<void>;
  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void>;
  close(): Promise<void>;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: GuardExtra) => void) | undefined;
  readonly sessionId?: string | undefined;
  readonly hasPerRequestStream?: boolean | undefined;
  setProtocolVersion?: ((version: string) => void) | undefined;
  setSupportedProtocolVersions?: ((versions: string[]) => void) | undefined;
}

type Delivery = () => Promise<void>;

/** The pending-ids scope of a guarded transport: it is one session, or one stateless exchange. */
const SCOPE = 'transport';

/**
 * Wraps an MCP server transport — of `@modelcontextprotocol/sdk` 1.x, or of
 * `@modelcontextprotocol/server` 2.x in either era — so that every incoming request and
 * notification is decided before the server sees it; a deny is answered by the guard
 * itself. Pass the result to `server.connect()` (for `createMcpHandler`, which connects
 * its instances itself, see {@link guardFactory}). Set the inner transport's
 * `onclose`/`onerror` before connecting: the guard chains them. The rules are the
 * enforcement core's (`src/pep/`), the same the proxy applies.
 */
export function guardTransport(transport: TransportV2, options: GuardOptions): TransportV2;
export function guardTransport(transport: TransportV1, options: GuardOptions): TransportV1;
export function guardTransport(transport: TransportV1 | TransportV2, options: GuardOptions): TransportV1 | TransportV2 {
  assertGuardOptions(options, 'guardTransport');
  // Both majors' transports have the shape the guard uses; their message types differ only in name.
  return new GuardedTransport(transport as unknown as ServerTransport, options) as unknown as TransportV1;
}

/** An allowed request between its delivery and its answer. */
interface Released {
  readonly release: () => void;
  readonly pep: EnforcementContext;
  readonly era: Era;
  readonly handleResult: HandleResult | undefined;
  readonly unwatch: (() => void) | undefined;
}

class GuardedTransport implements ServerTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage, extra?: GuardExtra) => void) | undefined;
  setProtocolVersion?: ((version: string) => void) | undefined;
  setSupportedProtocolVersions?: ((versions: string[]) => void) | undefined;

  readonly #inner: ServerTransport;
  readonly #options: GuardOptions;
  readonly #supervisor: StreamSupervisor | undefined;
  /** The warden session of this transport; its id never leaves the process. */
  #session: string | undefined;
  /** The credentials the session was created with: its revocation is asked with them. */
  #sessionCredentials: Pick<EnforcementContext, 'token' | 'agentToken'> = { token: undefined };
  #unwatch: (() => void) | undefined;
  /** Asked for by the client's initialize, then the one the server answered. */
  #protocolVersion: string | undefined;
  /** The version the server answered to initialize: what the era of a handshaken transport is. */
  #servedVersion: string | undefined;
  #initializeId: RequestId | undefined;
  /** Whether the client declared URL-mode elicitation at initialize (legacy era). */
  #urlElicitation = false;
  /** Settles once `initialize` was judged: later messages need its session. */
  #initialized: Promise<void> = Promise.resolve();
  /** Deliveries in arrival order, whatever order their decisions finish in. */
  #queue: Promise<void> = Promise.resolve();
  readonly #pending = new PendingIds();
  readonly #released = new Map<string, Released>();

  constructor(inner: ServerTransport, options: GuardOptions) {
    this.#inner = inner;
    this.#options = options;
    this.#supervisor =
      options.supervisor === false ? undefined : (options.supervisor ?? defaultSupervisor(options.warden));
    if (inner.setProtocolVersion !== undefined)
      this.setProtocolVersion = (version) => inner.setProtocolVersion?.(version);
    if (inner.setSupportedProtocolVersions !== undefined)
      this.setSupportedProtocolVersions = (versions) => inner.setSupportedProtocolVersions?.(versions);
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  get hasPerRequestStream(): boolean | undefined {
    return this.#inner.hasPerRequestStream;
  }

  async start(): Promise<void> {
    const inner = this.#inner;
    const previousClose = inner.onclose;
    const previousError = inner.onerror;
    inner.onmessage = (message, extra) => this.#receive(message, extra);
    inner.onclose = () => {
      previousClose?.();
      for (const { release, unwatch } of this.#released.values()) {
        release();
        unwatch?.();
      }
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
    const screened = await this.#screen(message, options);
    if (screened !== undefined) await this.#inner.send(screened, options);
  }

  async close(): Promise<void> {
    await this.#inner.close();
  }

  #receive(message: JSONRPCMessage, extra: GuardExtra | undefined): void {
    // Decisions run concurrently; deliveries keep the transport's order (a cancellation
    // must not overtake the request it cancels).
    const judged = this.#judge(message, extra).catch((err: unknown) => this.#failed(message, err));
    this.#queue = this.#queue
      .then(() => judged)
      .then((deliver) => deliver())
      .catch((err: unknown) => this.onerror?.(err instanceof Error ? err : new Error(String(err))));
  }

  /**
   * The era rules first (they need no decision), then the decision. Everything before
   * the first `await` runs as the message arrives, so that a message after `initialize`
   * waits for its session.
   */
  async #judge(raw: JSONRPCMessage, extra: GuardExtra | undefined): Promise<Delivery> {
    const message = classify(raw);
    const initialize = isInitialize(message);
    // What the message states (the header, else `_meta`); initialize's params only ask.
    const stated = initialize ? undefined : statedVersion(headerOf(extra, 'mcp-protocol-version'), message);
    const era = servedEra(
      {
        fixed: this.#options.era,
        classified: classifiedEra(extra),
        handshaken: this.#initializeId !== undefined,
        served: this.#servedVersion,
      },
      message,
      stated,
    );
    const legacySession = this.#session !== undefined || headerOf(extra, 'mcp-session-id') !== undefined;
    const problem = eraProblem(message, era, stated, legacySession);
    if (problem !== null) return this.#refused(message, problem);
    if (era === 'legacy' && initialize) {
      const judged = this.#initialize(raw as JSONRPCRequest, extra);
      this.#initialized = judged.then(
        () => undefined,
        () => undefined,
      );
      return judged;
    }
    // A client's answer to a server request (sampling, elicitation, roots) is decided as
    // the proxy decides it: the session must still be this principal's.
    await this.#initialized;
    return this.#check(raw, message, extra, stated ?? this.#protocolVersion, era);
  }

  async #initialize(message: JSONRPCRequest, extra: GuardExtra | undefined): Promise<Delivery> {
    const pep = this.#context(extra, undefined, undefined);
    this.#protocolVersion =
      typeof message.params?.protocolVersion === 'string' ? message.params.protocolVersion : undefined;
    this.#initializeId = message.id;
    this.#urlElicitation = declaresUrlElicitation(message.params?.capabilities);
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
        ...credentialsOf(pep),
        server: this.#options.server,
        kind: 'mcp-session',
      });
      if (view.id === undefined)
        throw new WardenRefusal(PdpUnavailable.code, 'the warden created a session without an id');
      this.#session = view.id;
      this.#sessionCredentials = { token: pep.token, agentToken: pep.agentToken };
      this.#unwatch = this.#supervisor?.watch(
        { ...credentialsOf(pep), session: view.id, server: this.#options.server },
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

  async #check(
    raw: JSONRPCMessage,
    message: ClientMessage,
    extra: GuardExtra | undefined,
    version: string | undefined,
    era: Era,
  ): Promise<Delivery> {
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
        const id = message.id as RequestId;
        if (decision.approval !== undefined) {
          const urlElicitation = acceptsUrlElicitation(message, version, this.#urlElicitation);
          return this.#answer(id, deniedAnswer(id, decision, { protocolVersion: version, urlElicitation }), false);
        }
        return this.#refusal(id, decision, pep.session !== undefined && denialKind(decision.reasons) === 'state_gone');
      }
      // A session is watched as a whole; without one, each request is watched until its
      // answer, as the proxy watches every stream it relays.
      const unwatch =
        pep.session === undefined
          ? this.#supervisor?.watch({ ...credentialsOf(pep), server: this.#options.server }, () => this.#cut())
          : undefined;
      this.#released.set(String(message.id), {
        release: claimed,
        pep,
        era,
        handleResult: decision.handle_result,
        unwatch,
      });
      // A multi-round-trip retry reaches the server with its own requestState, unsealed.
      return () => this.#deliver(unsealedRequest(raw, decision), extra);
    }
    // A denied notification or client response has no one to answer: it is dropped.
    const decision = await decideRequest(pep, mcpRequestOf(message, version));
    return decision.allow ? () => this.#deliver(raw, extra) : async () => undefined;
  }

  #context(
    extra: GuardExtra | undefined,
    session: string | undefined,
    version: string | undefined,
  ): EnforcementContext {
    return guardContext(this.#options, extra, session, version ?? this.#protocolVersion);
  }

  /** Answers a refused request with a JSON-RPC error; it never reaches the server. */
  #refusal(id: RequestId, decision: Denied, endSession: boolean): Delivery {
    return this.#answer(id, forbidden(id, decision), endSession);
  }

  /** A message an era rule refuses before any decision: a request is answered, a notification dropped. */
  #refused(message: ClientMessage, problem: Refusal): Delivery {
    if (message.type !== 'request') return async () => undefined;
    const id = message.id as RequestId;
    return this.#answer(id, refusedAnswer(id, problem), false);
  }

  #answer(id: RequestId, answer: Record<string, unknown>, endSession: boolean): Delivery {
    return async () => {
      await this.#inner.send(answer as JSONRPCMessage, { relatedRequestId: id });
      if (endSession) this.#endSession();
    };
  }

  /** A judgement that threw (it should not): deny the request, drop a notification. */
  #failed(message: JSONRPCMessage, err: unknown): Delivery {
    this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    if (!isJSONRPCRequest(message)) return async () => undefined;
    return this.#refusal(message.id, { reasons: refusalReasons(refusalOf(err, 'deciding')), decision_id: null }, false);
  }

  async #deliver(message: JSONRPCMessage, extra: GuardExtra | undefined): Promise<void> {
    this.onmessage?.(message, extra);
  }

  /**
   * A server message on its way out, screened by the core: the answer to a list request
   * filtered to what the decision lets this principal see, a list-shaped answer to no
   * pending request withheld, a server request or notification that names a task or
   * resource withheld unless the principal may see it. It is judged for the principal of
   * the request it answers or relates to, else of the session. An answer releases its
   * request's id.
   */
  async #screen(
    message: JSONRPCMessage,
    options: TransportSendOptions | undefined,
  ): Promise<JSONRPCMessage | undefined> {
    const answer = !('method' in message) && 'id' in message;
    const related = answer ? message.id : options?.relatedRequestId;
    const pending = related === undefined ? undefined : this.#released.get(String(related));
    const pep = pending?.pep ?? { ...this.#context(undefined, this.#session, undefined), ...this.#sessionCredentials };
    const screened = await screenServerMessage(message, {
      pendingMethod: (id) => this.#pending.methodOf(SCOPE, id),
      pendingHandleResult: (id) => this.#released.get(String(id))?.handleResult,
      visibleFor: (method) => visibleAmong(pep, method),
      modern: pending === undefined ? isModern(this.#protocolVersion) : pending.era === 'modern',
      ...mintedStateHooks(pep),
    });
    if (answer && pending !== undefined) {
      this.#released.delete(String(related));
      pending.release();
      pending.unwatch?.();
    }
    return screened as JSONRPCMessage | undefined;
  }

  /** From MCP 2026-07-28 on there is no protocol session: decide with the token only. */
  #negotiated(result: Record<string, unknown>): void {
    this.#servedVersion = typeof result.protocolVersion === 'string' ? result.protocolVersion : undefined;
    this.#protocolVersion = this.#servedVersion ?? this.#protocolVersion;
    if (isModern(this.#servedVersion)) this.#releaseSession();
  }

  /** The authority behind a request in flight ended: its exchange is closed, as the proxy cuts a stream. */
  #cut(): void {
    this.#inner.close().catch((err: unknown) => this.onerror?.(err instanceof Error ? err : new Error(String(err))));
  }

  #endSession(): void {
    this.#session = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.#options.onSessionEnd !== undefined) this.#options.onSessionEnd();
    else this.#cut();
  }

  /** Revokes this transport's warden session: best effort, it expires anyway. */
  #releaseSession(): void {
    const session = this.#session;
    this.#session = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (session !== undefined)
      this.#options.warden
        .revokeSession({ id: session, ...credentialsOf(this.#sessionCredentials) })
        .catch(() => undefined);
  }
}
