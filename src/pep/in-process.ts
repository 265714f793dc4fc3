import { decide } from '../decision/decide.ts';
import { checkLiveness } from '../decision/liveness.ts';
import type { CoreDeps } from '../decision/deps.ts';
import { createSession, revokeSession, widenSession } from '../decision/sessions.ts';
import { sealForPrincipal } from '../decision/request-state.ts';
import { bindState } from '../decision/bound-state.ts';
import type { Caller } from '../decision/types.ts';
import { SessionNotGranted, toReason } from '../errors.ts';
import { WardenRefusal, type Warden } from './warden.ts';

/** A {@link Warden} over the core in this process: no network between PEP and PDP. */
export function inProcessWarden(core: CoreDeps, caller: Caller): Warden {
  return {
    decide: (request) => decide(core, request, caller),
    createSession: (request) => refusing(() => createSession(core, request, caller)),
    widenSession: (request) => refusing(() => widenSession(core, request, caller)),
    bindState: (request) => refusing(() => bindState(core, request, caller)),
    sealRequestState: (request) => refusing(() => sealForPrincipal(core, request, caller)),
    revokeSession: async (request) => {
      await refusing(() => revokeSession(core, request, caller));
    },
    liveness: async (items) => {
      try {
        return await checkLiveness(core, items, caller);
      } catch (err) {
        return items.map(() => toReason(err));
      }
    },
    close: async () => undefined,
  };
}

async function refusing<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    const reason = toReason(err);
    const granted = err instanceof SessionNotGranted ? err : undefined;
    throw new WardenRefusal(reason.code, reason.message, granted?.reasons ?? [], granted?.requiredScopes ?? []);
  }
}
