import { ActorNotPermitted, AgentIdentityInvalid, DelegationTooDeep } from '../errors.ts';
import { permittedBy, type Actor } from './actor.ts';
import type { Principal } from './principal.ts';

/**
 * The principal a request acts as: the token's, with the agent that presented it (a
 * verified JWT-SVID beside the token, or null) joined to its actor chain. An agent the
 * chain already names as its most recent actor is marked attested; any other is the new
 * most recent actor. Then the chain must be at most `maxDepth` long, and a token with
 * `may_act` must name its most recent actor.
 */
export function delegate(principal: Principal, agent: Principal | null, maxDepth: number): Principal {
  const actor = agent === null ? principal.actor : joined(principal, agent);
  if (actor.length > maxDepth) {
    throw new DelegationTooDeep(`the actor chain has ${actor.length} actors; at most ${maxDepth} are accepted`);
  }
  const latest = actor[0];
  if (principal.may_act !== null && latest !== undefined && !permittedBy(principal.may_act, latest)) {
    throw new ActorNotPermitted(`the token's may_act does not permit ${latest.sub} to act for ${principal.sub}`);
  }
  return actor === principal.actor ? principal : { ...principal, actor };
}

function joined(principal: Principal, agent: Principal): readonly Actor[] {
  if (agent.kind !== 'workload' || agent.spiffe_id === null) {
    throw new AgentIdentityInvalid('the agent identity must be a JWT-SVID');
  }
  // A workload presenting its own SVID twice acts for no one.
  if (principal.spiffe_id === agent.spiffe_id) return principal.actor;
  const [latest, ...earlier] = principal.actor;
  if (latest !== undefined && latest.spiffe_id === agent.spiffe_id) return [{ ...latest, attested: true }, ...earlier];
  const link: Actor = { iss: agent.iss, sub: agent.sub, client_id: null, spiffe_id: agent.spiffe_id, attested: true };
  return [link, ...principal.actor];
}
