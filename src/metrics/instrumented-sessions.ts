import { SessionLimitReached } from '../errors.ts';
import type { SessionStore } from '../session/record.ts';
import type { ServiceMetrics, SessionOperation, StoreName } from './service-metrics.ts';

/**
 * The same store, counting every call by operation and outcome, and every failure as an
 * error of `store`. A refusal by the per-principal limit is an outcome, not a store error.
 */
export function instrumentSessionStore(store: SessionStore, metrics: ServiceMetrics, name: StoreName): SessionStore {
  const counted = <T>(operation: SessionOperation, call: Promise<T>): Promise<T> =>
    call.then(
      (value) => {
        metrics.sessionOperation(operation, 'ok');
        return value;
      },
      (err: unknown) => {
        const limit = err instanceof SessionLimitReached;
        metrics.sessionOperation(operation, limit ? 'limit_reached' : 'error');
        if (!limit) metrics.storeError(name);
        throw err;
      },
    );
  return {
    insert: (record) => counted('insert', store.insert(record)),
    get: (idHash) => counted('get', store.get(idHash)),
    touch: (idHash, now) => counted('touch', store.touch(idHash, now)),
    addScope: (idHash, tools, now) => counted('add_scope', store.addScope(idHash, tools, now)),
    revoke: (idHash, now) => counted('revoke', store.revoke(idHash, now)),
    revokeWhere: (filter, now) => counted('revoke_where', store.revokeWhere(filter, now)),
    list: (filter, limit) => counted('list', store.list(filter, limit)),
    sweep: (now) => counted('sweep', store.sweep(now)),
    revokePrincipal: (rule) => store.revokePrincipal(rule),
    principalRevocation: (lookup, now) => store.principalRevocation(lookup, now),
    listRevocations: (now, limit) => store.listRevocations(now, limit),
    // Read by every scrape: only its failures are counted, not the calls.
    countLive: (now) =>
      store.countLive(now).catch((err: unknown) => {
        metrics.storeError(name);
        throw err;
      }),
    start: () => store.start(),
    stop: () => store.stop(),
    status: () => store.status(),
  };
}
