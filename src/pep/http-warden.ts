import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { z } from 'zod';
import type { Decision, SessionView } from '../decision/types.ts';
import { PdpUnavailable, toReason } from '../errors.ts';
import {
  boundStateViewSchema,
  decisionSchema,
  errorSchema,
  livenessAnswerSchema,
  sealedRequestStateSchema,
  sessionViewSchema,
} from '../wire/schemas.ts';
import { enforceableDecision, IMPLEMENTED_OBLIGATIONS } from './obligations.ts';
import { WardenRefusal, type Warden } from './warden.ts';

/** Options of {@link createWardenClient}. */
export interface WardenClientOptions {
  /** Base URL of the decision API, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  readonly url: string;
  /** The PEP's API key, sent as `Authorization: Bearer <key>`; none for a keyless service. */
  readonly apiKey?: string | undefined;
  /** Budget of one call, connection and body included; past it the answer is a deny. */
  readonly timeoutMs?: number | undefined;
  /** Most keep-alive connections to the service; unbounded by default. */
  readonly connections?: number | undefined;
  /**
   * The obligations the PEP using this client carries out; an allow with any other is
   * turned into a deny (`obligation_unsupported`). Default: none.
   */
  readonly obligations?: readonly string[] | undefined;
}

// A decision with visible_tools for 10 000 candidates stays well below this; anything
// larger is not an answer of ours, and reading it whole would be the caller's cost.
const MAX_RESPONSE_BYTES = 4 << 20;

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * A {@link Warden} over the HTTP decision API, on one keep-alive connection pool.
 * `decide()` fails closed: a timeout, a connection error, a status other than 200 or a
 * body outside the contract is a deny with `pdp_unavailable`, never an exception.
 */
export function createWardenClient(options: WardenClientOptions): Warden {
  const { base, prefix } = parseUrl(options.url);
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive number');
  if (options.apiKey !== undefined && options.apiKey.length === 0) throw new TypeError('apiKey must not be empty');
  const pool = new Pool(base, {
    ...(options.connections === undefined ? {} : { connections: options.connections }),
    maxResponseSize: MAX_RESPONSE_BYTES,
  });
  const obligations: ReadonlySet<string> = new Set(options.obligations ?? IMPLEMENTED_OBLIGATIONS.client);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;

  /** One call; throws {@link PdpUnavailable} when no complete JSON answer came in time. */
  async function call(method: 'POST' | 'DELETE', path: string, body: unknown): Promise<Answer> {
    let status: number;
    let text: string;
    try {
      const res = await pool.request({
        method,
        path: prefix + path,
        headers,
        body: JSON.stringify(body),
        // One signal covers the connection, the headers and the whole body.
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new PdpUnavailable(`the decision API did not answer: ${describe(err)}`);
    }
    try {
      return { status, body: JSON.parse(text) as unknown };
    } catch {
      throw new PdpUnavailable(`the decision API answered ${status} with a body that is not JSON`);
    }
  }

  /** A state call: the view on `expected` (in `schema`), else a refusal with the API's own code. */
  async function stateCall<T>(
    method: 'POST' | 'DELETE',
    path: string,
    body: unknown,
    expected: number,
    schema: z.ZodType<T>,
  ): Promise<T> {
    let answer: Answer;
    try {
      answer = await call(method, path, body);
    } catch (err) {
      const reason = toReason(err);
      throw new WardenRefusal(reason.code, reason.message);
    }
    if (answer.status === expected) {
      const view = schema.safeParse(answer.body);
      if (view.success) return view.data;
      throw new WardenRefusal(PdpUnavailable.code, 'the decision API answered state outside the contract');
    }
    const error = errorSchema.safeParse(answer.body);
    if (error.success)
      throw new WardenRefusal(
        error.data.code,
        error.data.message,
        error.data.reasons ?? [],
        error.data.required_scopes ?? [],
      );
    throw new WardenRefusal(PdpUnavailable.code, `the decision API answered ${answer.status}`);
  }

  const sessionCall = (method: 'POST' | 'DELETE', path: string, body: unknown, expected: number) =>
    stateCall<SessionView>(method, path, body, expected, sessionViewSchema);

  return {
    async decide(request) {
      try {
        const answer = await call('POST', '/v1/decide', request);
        if (answer.status !== 200) return unavailable(`the decision API answered ${answer.status}`);
        // Only a body that validates is believed, an allow above all.
        const decision = decisionSchema.safeParse(answer.body);
        return decision.success
          ? enforceableDecision(decision.data, obligations)
          : unavailable('the decision API answered a decision outside the contract');
      } catch (err) {
        return unavailable(toReason(err).message);
      }
    },
    createSession: (request) => sessionCall('POST', '/v1/sessions', request, 201),
    widenSession: ({ id, ...body }) => sessionCall('POST', `/v1/sessions/${encodeURIComponent(id)}/scope`, body, 200),
    bindState: (request) => stateCall('POST', '/v1/bound-state', request, 201, boundStateViewSchema),
    sealRequestState: (request) => stateCall('POST', '/v1/request-states', request, 201, sealedRequestStateSchema),
    async revokeSession({ id, ...credentials }) {
      await sessionCall('DELETE', `/v1/sessions/${encodeURIComponent(id)}`, credentials, 200);
    },
    async liveness(items) {
      if (items.length === 0) return [];
      try {
        const answer = await call('POST', '/v1/liveness', { items });
        const parsed = livenessAnswerSchema.safeParse(answer.body);
        if (answer.status !== 200 || !parsed.success || parsed.data.results.length !== items.length) {
          return items.map(() => ({
            code: PdpUnavailable.code,
            message: `the decision API answered liveness ${answer.status} outside the contract`,
          }));
        }
        return parsed.data.results.map((r) => (r.live ? null : r.reason));
      } catch (err) {
        const reason = toReason(err);
        return items.map(() => reason);
      }
    },
    close: () => pool.close(),
  };
}

/** The deny a PEP answers when it has no valid decision: fail closed, never throw. */
function unavailable(message: string): Decision {
  return {
    decision_id: randomUUID(),
    allow: false,
    reasons: [{ code: PdpUnavailable.code, message }],
    obligations: {},
    visible_tools: null,
    policy: { revision: null },
  };
}

function parseUrl(url: string): { base: string; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('url must be http: or https:');
  if (parsed.search !== '' || parsed.hash !== '') throw new TypeError('url must not have a query or a fragment');
  return { base: parsed.origin, prefix: parsed.pathname.replace(/\/+$/, '') };
}

/** A short cause for the reason message; never the request, which holds a token. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : err.name;
  }
  return 'unknown error';
}
