import type { CoreDeps } from '../decision/deps.ts';
import type { Caller } from '../decision/types.ts';
import { CallerForbidden } from '../errors.ts';
import { hashSessionId, kindOfId } from '../session/ids.ts';

/**
 * `caller`, unless its key is bound to MCP servers (`callers.api_keys[].servers`) and the
 * request acts for another one: 403 `caller_forbidden`. Every route that names a server
 * goes through here (or {@link forSessionServer}), so a gateway's key cannot be used to
 * decide or hold sessions for a server it does not front.
 */
export function forServers(caller: Caller, servers: Iterable<string>): Caller {
  if (caller.servers === undefined) return caller;
  for (const server of servers) {
    if (!caller.servers.includes(server)) {
      throw new CallerForbidden(`the API key of ${caller.id} is not bound to server '${server}'`);
    }
  }
  return caller;
}

/**
 * {@link forServers} for a route that names a session: its server is the session's. The
 * record is read only for a bound caller; an unknown session passes, for the route to answer
 * `session_unknown` as it would to anyone.
 */
export async function forSessionServer(core: CoreDeps, caller: Caller, id: string): Promise<Caller> {
  if (caller.servers === undefined || kindOfId(id) === null) return caller;
  const record = await core.sessions.get(hashSessionId(id));
  return record === undefined ? caller : forServers(caller, [record.server]);
}
