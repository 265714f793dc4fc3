import { parentPort } from 'node:worker_threads';
import { WardenError } from '../errors.ts';
import { checkBundle } from './check-bundle.ts';
import type { TrialJob, TrialReply } from './trial.ts';

/**
 * The worker side of `trial.ts`: checks each bundle it is sent and answers. opa-wasm
 * runs a module synchronously, so a module that spins here blocks only this thread,
 * which the main thread terminates at its deadline.
 */
const port = parentPort;
if (port === null) throw new TypeError('trial-worker.ts runs only as a worker thread');

port.on('message', (job: TrialJob) => {
  void checkBundle(job.bytes, job.maxBytes, job.rule).then(
    (checked) => port.postMessage({ ok: true, ...checked } satisfies TrialReply),
    (err: unknown) => {
      const coded = err instanceof WardenError;
      const message = coded ? err.message : `the bundle cannot be loaded: ${String((err as Error)?.message ?? err)}`;
      port.postMessage({ ok: false, code: coded ? err.code : 'bundle_invalid', message } satisfies TrialReply);
    },
  );
});
port.postMessage({ ready: true } satisfies TrialReply);
