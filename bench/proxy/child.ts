import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A proxy running in its own process (and so on its own event loop). */
export interface ProxyChild {
  /** The MCP endpoint it printed, e.g. `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  readonly pid: number | undefined;
  /** The last 4 KiB of its stdout and stderr, for error messages. */
  output(): string;
  /** SIGTERM (it closes, flushes what it must and exits 0, so a `--cpu-prof` file is written), SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Synchronous last resort for `process.on('exit')`. */
  kill(): void;
}

/**
 * Starts `node [nodeArgs] src/cli.ts proxy --upstream <upstream> --config <config>` (mcp-warden's
 * proxy) and waits for its `proxy listening on <url>` line.
 */
export function startProxyChild(
  upstream: string,
  config: string,
  nodeArgs: string[] = [],
  timeoutMs = 30_000,
): Promise<ProxyChild> {
  return startChild(
    'proxy',
    [...nodeArgs, 'src/cli.ts', 'proxy', '--upstream', upstream, '--config', config],
    /^proxy listening on (\S+)/m,
    timeoutMs,
  );
}

/**
 * Starts `node bench/proxy/bare-proxy.ts --upstream <upstream>` (no authorization) and waits
 * for its `bare proxy listening on <url>` line.
 */
export function startBareProxyChild(
  upstream: string,
  nodeArgs: string[] = [],
  timeoutMs = 30_000,
): Promise<ProxyChild> {
  return startChild(
    'bare proxy',
    [...nodeArgs, 'bench/proxy/bare-proxy.ts', '--upstream', upstream],
    /^bare proxy listening on (\S+)/m,
    timeoutMs,
  );
}

/**
 * Starts `node <args>` in the repository root and waits for the line `ready` matches (its
 * first group is the URL). Its output is drained continuously, so a chatty log level
 * never blocks it on a full pipe.
 */
async function startChild(name: string, args: string[], ready: RegExp, timeoutMs: number): Promise<ProxyChild> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, MCP_WARDEN_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} ${why}; last output:\n${output}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4096);
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    child.once('error', (error) => fail(`failed to spawn: ${error.message}`));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        if (!alive()) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
    kill() {
      if (alive()) child.kill('SIGKILL');
    },
  };
}
