import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A server running in its own process, listening on `port`. */
export interface ChildServer {
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` and waits for the `{"port":N}` line it prints. The child has its
 * own event loop (and so its own core), away from the load generator.
 */
export async function startServer(
  script: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ChildServer> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await readPort(child, script);
  return {
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function readPort(child: ChildProcess, script: string): Promise<number> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exit = once(child, 'exit').then(([code]) => {
    throw new Error(`${script} exited (code ${String(code)}) before printing its port`);
  });
  const port = (async () => {
    for await (const line of lines) {
      const parsed = JSON.parse(line) as { port?: unknown };
      if (typeof parsed.port === 'number') return parsed.port;
    }
    throw new Error(`${script} closed its stdout before printing its port`);
  })();
  try {
    return await Promise.race([port, exit]);
  } finally {
    exit.catch(() => {});
  }
}
