import { constants as osConstants } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { shutdown, type Drainable, type ShutdownResult } from '../server/shutdown.ts';

/** What a command stops on SIGTERM/SIGINT, and how long each step may take (`server.shutdown_*`). */
export interface SignalStop {
  readonly app: FastifyInstance;
  readonly target: Drainable;
  readonly delayMs: number;
  readonly graceMs: number;
  /** Stopped beside the app (the dev policy builder). */
  readonly alongside?: () => Promise<void>;
}

/**
 * The exit code of a shutdown, the same for every command (docs/operations.md): 0 when it
 * closed, requests cut at the grace included; 1 when the parts (audit sink, session store)
 * did not stop in time or the shutdown failed. A second signal exits at once with 128 + the signal's number.
 */
export function shutdownExitCode(result: ShutdownResult): number {
  return result === 'timeout' ? 1 : 0;
}

/**
 * Makes the first SIGTERM or SIGINT shut `app` down in order (drain, delay, grace, stop)
 * and exit; a second one exits at once, for an operator who will not wait.
 */
export function stopOnSignals(stop: SignalStop): void {
  const { app, delayMs, graceMs } = stop;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn(`${signal} again: exiting now`);
      process.exit(128 + (osConstants.signals[signal] ?? 0));
    }
    stopping = true;
    app.log.info({ delay_ms: delayMs, grace_ms: graceMs }, `${signal}: draining, then closing`);
    const closing = shutdown(app, stop.target, { delayMs, graceMs });
    void Promise.all([stop.alongside?.(), closing]).then(
      ([, result]) => {
        if (result === 'forced') app.log.warn(`requests still in flight after ${graceMs} ms were cut`);
        if (result === 'timeout') app.log.error('the service did not stop in time (audit sink or session store)');
        else app.log.info('closed');
        process.exit(shutdownExitCode(result));
      },
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
