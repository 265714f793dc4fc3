// Cedar (@cedar-policy/cedar-wasm) on bench/compare/cedar/: the policy, its schema and
// the catalogue entities, and the authorization call of a request.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { RequestFacts } from './scenario.ts';

const file = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../cedar/${name}`, import.meta.url)), 'utf8');

export const POLICY_SET_ID = 'mcp-warden-compare';

type EntityJson = cedar.EntityJson;
type Uid = { type: string; id: string };

export interface CedarSetup {
  readonly policies: string;
  readonly schema: string;
  /** Every entity of cedar/entities.json. */
  readonly entities: readonly EntityJson[];
  readonly version: string;
}

/**
 * Reads the files, validates the policies and the entities against the schema (strict,
 * once, here) and preparses the policy set for `statefulIsAuthorized`. Throws on any
 * parse or validation error.
 */
export function loadCedar(): CedarSetup {
  const policies = file('policy.cedar');
  const schema = file('schema.cedarschema');
  const entities = JSON.parse(file('entities.json')) as EntityJson[];
  const validation = cedar.validate({
    schema,
    policies: { staticPolicies: policies },
    validationSettings: { mode: 'strict' },
  });
  if (validation.type !== 'success') throw new Error(`cedar validate failed: ${JSON.stringify(validation.errors)}`);
  if (validation.validationErrors.length > 0)
    throw new Error(`cedar policy does not validate: ${JSON.stringify(validation.validationErrors)}`);
  const entityCheck = cedar.checkParseEntities({ entities, schema });
  if (entityCheck.type !== 'success')
    throw new Error(`cedar entities do not parse: ${JSON.stringify(entityCheck.errors)}`);
  const preparsed = cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: policies });
  if (preparsed.type !== 'success') throw new Error(`cedar preparse failed: ${JSON.stringify(preparsed.errors)}`);
  return { policies, schema, entities, version: cedar.getCedarVersion() };
}

/** The parts of one authorization call (principal, action, resource, context, entities). */
export interface CedarRequest {
  readonly principal: Uid;
  readonly action: Uid;
  readonly resource: Uid;
  readonly context: cedar.Context;
  /** The principal, the resource and their ancestors: what a PEP passes for one request. */
  readonly entities: EntityJson[];
}

export function cedarRequest(setup: CedarSetup, facts: RequestFacts): CedarRequest {
  const principal = { type: 'User', id: facts.subject };
  const resource = { type: 'Tool', id: facts.tool };
  const context: cedar.Context = {
    path: facts.path,
    session_scope: facts.sessionScope.map((id) => ({ __entity: { type: 'Tool', id } })),
  };
  return {
    principal,
    action: { type: 'Action', id: 'tools/call' },
    resource,
    context,
    entities: slice(setup.entities, [principal, resource]),
  };
}

/** `isAuthorized`: the policy text is parsed on every call (no schema). */
export function isAuthorized(setup: CedarSetup, request: CedarRequest): cedar.AuthorizationAnswer {
  return cedar.isAuthorized({ ...request, policies: { staticPolicies: setup.policies } });
}

/**
 * `statefulIsAuthorized` on the preparsed policy set, without a schema: the fastest call
 * cedar-wasm offers, and like opa-wasm's evaluation, which checks no input schema either.
 * (With `preparsedSchemaName` and `validateRequest`, each call also validates the request
 * and entities against the schema, which costs more than the evaluation here.)
 */
export function statefulIsAuthorized(request: CedarRequest): cedar.AuthorizationAnswer {
  return cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: POLICY_SET_ID });
}

/** The decision of an answer; throws on a failure answer (a benchmark of errors is worthless). */
export function decisionOf(answer: cedar.AuthorizationAnswer): 'allow' | 'deny' {
  if (answer.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(answer.errors)}`);
  if (answer.response.diagnostics.errors.length > 0)
    throw new Error(`cedar policy errors: ${JSON.stringify(answer.response.diagnostics.errors)}`);
  return answer.response.decision;
}

/** The entities `roots` are, plus all their ancestors. */
function slice(all: readonly EntityJson[], roots: readonly Uid[]): EntityJson[] {
  const key = (u: Uid) => `${u.type}::${u.id}`;
  const byKey = new Map(all.map((e) => [key(e.uid as Uid), e]));
  const out = new Map<string, EntityJson>();
  const visit = (u: Uid) => {
    const e = byKey.get(key(u));
    if (e === undefined || out.has(key(u))) return;
    out.set(key(u), e);
    for (const parent of e.parents) visit(parent as Uid);
  };
  roots.forEach(visit);
  return [...out.values()];
}
