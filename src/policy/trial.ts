import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BundleInvalid, BundleLoadTimeout, BundleOutsideRoots, BundleUnsigned } from '../errors.ts';
import type { CheckedBundle } from './check-bundle.ts';
import type { SigningRule } from './signing-rule.ts';

/** How long the worker may take to start (load its modules) before the trial counts as failed. */
const WORKER_START_MS = 30_000;

/** What the main thread sends the worker. */
export interface TrialJob {
  readonly bytes: Uint8Array;
  readonly maxBytes: number;
  readonly rule: SigningRule;
}

/** What the worker answers: first that it is ready, then the outcome. */
export type TrialReply =
  | { readonly ready: true }
  | ({ readonly ok: true } & CheckedBundle)
  | { readonly ok: false; readonly code: string; readonly message: string };

// The worker is a module beside this one: `.ts` when run from source, `.js` from dist/.
const WORKER_URL = new URL(`./trial-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Runs {@link checkBundle} in a worker thread, so that a bundle whose load or evaluation
 * spins (a corrupted or hostile module) never blocks the event loop that answers
 * decisions. The worker is started ahead and kept between runs (unref'd), so a reload
 * does not wait for it to load its modules; the deadline of a run starts once it is
 * ready. Past the deadline the worker is terminated (only that stops a synchronous
 * loop), the bundle refused with `bundle_load_timeout`, and a fresh worker started for
 * the next run. Other refusals keep their code (`bundle_invalid`, `bundle_unsigned`,
 * `bundle_outside_roots`). One run at a time: the reloader serializes its reloads.
 */
export class BundleTrial {
  #worker: Promise<Worker> | undefined;

  /** Starts the worker now, so that the first run does not wait for it. */
  warm(): void {
    this.#worker ??= startWorker();
    this.#worker.catch(() => (this.#worker = undefined));
  }

  async run(job: TrialJob, timeoutMs: number): Promise<CheckedBundle> {
    this.warm();
    const worker = await (this.#worker as Promise<Worker>);
    try {
      return await ask(worker, job, timeoutMs);
    } catch (err) {
      // A worker that timed out or failed may be in any state: never reuse it.
      this.#worker = undefined;
      void worker.terminate();
      throw err;
    }
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await (await worker?.catch(() => undefined))?.terminate();
  }
}

/** One run in a fresh worker, which is stopped after it. */
export async function trialBundle(job: TrialJob, timeoutMs: number): Promise<CheckedBundle> {
  const trial = new BundleTrial();
  try {
    return await trial.run(job, timeoutMs);
  } finally {
    await trial.close();
  }
}

function startWorker(): Promise<Worker> {
  const worker = new Worker(WORKER_URL);
  worker.unref();
  return new Promise<Worker>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new BundleInvalid(`the bundle check did not start within ${WORKER_START_MS} ms`));
    }, WORKER_START_MS);
    timer.unref();
    worker.once('message', () => {
      clearTimeout(timer);
      resolve(worker);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(new BundleInvalid(`the bundle check failed to start: ${err.message}`));
    });
  });
}

function ask(worker: Worker, job: TrialJob, timeoutMs: number): Promise<CheckedBundle> {
  return new Promise<CheckedBundle>((resolve, reject) => {
    const settle = (done: () => void) => {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      done();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new BundleLoadTimeout(
              `the bundle did not load and evaluate within ${timeoutMs} ms (policy.load_timeout_ms)`,
            ),
          ),
        ),
      timeoutMs,
    );
    const onMessage = (reply: TrialReply) => {
      if ('ready' in reply) return;
      settle(() =>
        reply.ok
          ? resolve({ revision: reply.revision, signer: reply.signer, unsignedAllowed: reply.unsignedAllowed })
          : reject(refusal(reply.code, reply.message)),
      );
    };
    const onError = (err: Error) => settle(() => reject(new BundleInvalid(`the bundle check failed: ${err.message}`)));
    const onExit = (code: number) =>
      settle(() => reject(new BundleInvalid(`the bundle check ended (exit ${code}) without an answer`)));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage(job);
  });
}

/** The worker's refusal as its own class; only bundle codes cross, anything else is `bundle_invalid`. */
function refusal(code: string, message: string): BundleInvalid {
  const Class = [BundleUnsigned, BundleOutsideRoots].find((c) => c.code === code) ?? BundleInvalid;
  return new Class(message);
}
