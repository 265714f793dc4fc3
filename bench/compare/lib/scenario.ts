// The one request every system of the comparison decides, and its form for each of them.
//
// A reader (token roles ["reader"], scope "mcp:read") calls fs_read with a path under
// /srv/data/ in a live session whose scope holds fs_read. mcp-warden gets it as a
// `POST /v1/decide` body; OPA as the policy input decide() builds for it; Cedar and
// Cerbos as the equivalent request of their own policy languages.
import type { CoreDeps } from '../../../src/decision/deps.ts';
import { buildPolicyInput } from '../../../src/decision/policy-input.ts';
import { createSession } from '../../../src/decision/sessions.ts';
import type { DecideRequest } from '../../../src/decision/types.ts';
import { createTokenVerifier } from '../../../src/identity/verifier.ts';
import type { PolicyInput } from '../../../src/policy/engine.ts';
import { hashSessionId } from '../../../src/session/ids.ts';
import { BENCH_CALLER, createBenchCore } from '../../lib/core.ts';
import { BENCH_SERVER, createBenchIssuer, type BenchIssuer } from '../../lib/issuer.ts';
import { toolCallRequest } from '../../lib/request.ts';

/** Claims added to the bench issuer's (`roles: ["reader"]`, `client_id`). */
export const COMPARE_CLAIMS = { scope: 'mcp:read' } as const;

/** mcp-warden's embedded default wiring (bench/lib/core.ts) around the compare token. */
export interface CompareCore {
  readonly deps: CoreDeps;
  readonly request: DecideRequest;
  /** The policy input decide() builds for `request` (what OPA, Cedar and Cerbos are given). */
  readonly input: PolicyInput;
  readonly issuer: BenchIssuer;
  close(): Promise<void>;
}

/**
 * bench/lib/core.ts's core (default bundle, memory sessions, file audit on a temp file),
 * with its verifier swapped for one trusting an issuer whose token also carries the
 * scope mcp:read, and a session created for that token.
 */
export async function createCompareCore(): Promise<CompareCore> {
  const core = await createBenchCore();
  try {
    const issuer = await createBenchIssuer();
    const deps: CoreDeps = {
      ...core.deps,
      verifier: createTokenVerifier({ issuers: [issuer.config], cacheSize: 10_000, maxTokenBytes: 8192 }),
    };
    const token = await issuer.mint(COMPARE_CLAIMS);
    const session = await createSession(deps, { token, server: BENCH_SERVER }, BENCH_CALLER);
    if (session.id === undefined) throw new Error('createSession returned no id');
    const request = toolCallRequest(token, session.id);
    // The same input decide() builds: the verified principal and the live session record.
    const principal = await deps.verifier.verify(request.token, request.server);
    const record = await deps.sessions.get(hashSessionId(session.id));
    if (record === null || record === undefined) throw new Error('the session just created is not in the store');
    const input = buildPolicyInput({
      mcp: request.mcp,
      principal,
      session: record,
      server: request.server,
      caller: BENCH_CALLER,
      now: Date.now(),
    });
    return { deps, request, input, issuer, close: () => core.close() };
  } catch (err) {
    await core.close();
    throw err;
  }
}

/** The fields of the policy input the Cedar and Cerbos forms are built from. */
export interface RequestFacts {
  readonly subject: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly tool: string;
  readonly path: string;
  readonly sessionScope: readonly string[];
}

export function requestFacts(input: PolicyInput): RequestFacts {
  const i = input as unknown as {
    request: { tool: string; arguments: { path: string } };
    principal: { sub: string; roles: string[]; scopes: string[] };
    session: { scope: string[] };
  };
  return {
    subject: i.principal.sub,
    roles: i.principal.roles,
    scopes: i.principal.scopes,
    tool: i.request.tool,
    path: i.request.arguments.path,
    sessionScope: i.session.scope,
  };
}

/** The body of Cerbos's `POST /api/check/resources` for the request (bench/compare/cerbos/). */
export function cerbosCheckBody(facts: RequestFacts): unknown {
  return {
    requestId: 'bench',
    principal: { id: facts.subject, roles: facts.roles, attr: { scopes: facts.scopes } },
    resources: [
      {
        actions: ['tools/call'],
        resource: {
          kind: 'mcp_tool',
          id: facts.tool,
          attr: { path: facts.path, session_scope: facts.sessionScope },
        },
      },
    ],
  };
}
