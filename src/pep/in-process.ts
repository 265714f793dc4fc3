import { decide } from '../decision/decide.ts';
import type { CoreDeps } from '../decision/deps.ts';
import { createSession, revokeSession, widenSession } from '../decision/sessions.ts';
import type { Caller } from '../decision/types.ts';
import { SessionNotGranted, toReason } from '../errors.ts';
import { WardenRefusal, type Warden } from './warden.ts';

/** A {@link Warden} over the core in this process: no network between PEP and PDP. */
export function inProcessWarden(core: CoreDeps, caller: Caller): Warden {
  return {
    decide: (request) => decide(core, request, caller),
    createSession: (request) => refusing(() => createSession(core, request, caller)),
    widenSession: (request) => refusing(() => widenSession(core, request, caller)),
    revokeSession: async (request) => {
      await refusing(() => revokeSession(core, request, caller));
    },
    close: async () => undefined,
  };
}

async function refusing<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    const reason = toReason(err);
    const reasons = err instanceof SessionNotGranted ? err.reasons : [];
    throw new WardenRefusal(reason.code, reason.message, reasons);
  }
}
