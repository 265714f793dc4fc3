import { SessionUnknown, toReason, type Reason } from '../errors.ts';
import type { Principal } from '../identity/principal.ts';
import { checkSession } from '../session/check.ts';
import { hashSessionId, kindOfId } from '../session/ids.ts';
import type { CoreDeps } from './deps.ts';
import { assertNotRevoked, lookupFor } from './principal-revocation.ts';
import type { Caller, LivenessItem } from './types.ts';

/**
 * Whether the authority behind open streams still holds, for each item: null when its
 * token verifies (`aud` = its server), its principal is not revoked, and its session (if
 * any) exists, is the principal's, is for that server, and is neither revoked nor
 * expired; else the reason of the first failure, in the order `decide()` checks them.
 *
 * Decides nothing: no policy, no audit record, and no touch (a check never keeps a
 * session alive). Each item costs at most one store round trip — its revocation lookup
 * and its session read go out together — and every item of a batch is asked at once, so
 * on Redis the whole batch travels back to back. Never throws: a failure is the item's
 * reason (`session_store_unavailable` when the store cannot answer).
 *
 * The caller (the PEP asking) is not checked against the session's creator — each item
 * carries the owner's token — and nothing is recorded for it.
 */
export async function checkLiveness(
  deps: CoreDeps,
  items: readonly LivenessItem[],
  _caller: Caller,
): Promise<(Reason | null)[]> {
  const now = deps.clock();
  return Promise.all(
    items.map((item) =>
      checkItem(deps, item, now).then(
        () => null,
        (err: unknown) => toReason(err),
      ),
    ),
  );
}

async function checkItem(deps: CoreDeps, item: LivenessItem, now: number): Promise<void> {
  const principal = await deps.verifier.identify(item, item.server);
  const revoked = assertNotRevoked(deps, lookupFor(principal, item.token), now);
  const session =
    item.session === undefined ? Promise.resolve() : checkItemSession(deps, item, item.session, principal, now);
  session.catch(() => undefined);
  await revoked;
  await session;
}

async function checkItemSession(
  deps: CoreDeps,
  item: LivenessItem,
  id: string,
  principal: Principal,
  now: number,
): Promise<void> {
  // An id of a shape we never issue is unknown without a store round trip.
  const kind = kindOfId(id);
  if (kind === null) throw new SessionUnknown('the session is unknown');
  const record = await deps.sessions.get(hashSessionId(id));
  checkSession(record, { principal, server: item.server, tool: null, now, kind });
}
