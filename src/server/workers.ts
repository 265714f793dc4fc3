import cluster, { type Worker } from 'node:cluster';
import { basename, dirname, extname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { loadCheckpointSigner } from '../audit/checkpoint.ts';
import { loadDevIssuer } from '../identity/dev-issuer.ts';

/** The environment variable that tells a worker its index (1-based). */
export const WORKER_ENV = 'MCP_WARDEN_WORKER';

/**
 * Why a configuration cannot run `workers` processes, or null. Workers share nothing in
 * memory: sessions must be in a shared store, so a memory store is refused.
 */
export function workersProblem(config: Config): string | null {
  if (config.server.workers <= 1) return null;
  if (config.session.store !== 'redis') {
    const { workers } = config.server;
    return `server.workers is ${workers}: sessions must be shared between workers (session.store "redis")`;
  }
  return null;
}

/**
 * The audit file of worker `index`: each worker writes its own chain to its own file
 * (`var/audit/audit.jsonl` → `var/audit/audit.w2.jsonl`), so no two processes append to one file.
 */
export function workerAuditFile(file: string, index: number): string {
  const ext = extname(file);
  return join(dirname(file), `${basename(file, ext)}.w${index}${ext}`);
}

/** This worker's index, or null in a single process or the primary. */
export function workerIndex(): number | null {
  const raw = process.env[WORKER_ENV];
  return cluster.isWorker && raw !== undefined ? Number(raw) : null;
}

/**
 * Runs in the primary: creates the key files every worker will read (so that they do
 * not race to create them), forks `count` workers that listen on the one port
 * (node:cluster shares it), restarts a worker that dies unexpectedly, and on SIGTERM or
 * SIGINT asks every worker to shut down gracefully and exits when they all have.
 */
export async function runPrimary(config: Config, log: (message: string) => void): Promise<void> {
  await loadCheckpointSigner(config.audit.checkpoint_key_file);
  if (config.server.dev) await loadDevIssuer(config.server.dev_key_file);
  let stopping = false;
  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [WORKER_ENV]: String(index) });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      log(`worker ${index} exited (${signal ?? code}); starting it again`);
      setTimeout(() => fork(index), 500).unref();
    });
    return worker;
  };
  for (let i = 1; i <= config.server.workers; i++) fork(i);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        return;
      }
      stopping = true;
      log(`${signal}: stopping ${config.server.workers} workers`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    cluster.on('exit', () => {
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) resolve();
    });
  });
}
