// Servers of the comparison started as child processes (any binary), with readiness
// polling, their peak memory from /proc, and a clean stop.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Proc {
  readonly name: string;
  readonly pid: number;
  /** The last lines the process wrote (stdout and stderr), for error messages. */
  output(): string;
  /** kB fields of /proc/<pid>/status: VmHWM (peak resident set) and VmRSS (now). */
  memory(): { peakKb: number; rssKb: number };
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** A URL that answers 2xx once the server is ready. */
  readyUrl: string;
  readyTimeoutMs?: number;
}

export async function startProc(options: StartOptions): Promise<Proc> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const failed = await Promise.race([
    once(child, 'spawn').then(() => null),
    once(child, 'error').then(([err]) => err as Error),
  ]);
  if (failed !== null) throw new Error(`${options.name}: could not start ${options.command}: ${failed.message}`);
  const proc: Proc = {
    name: options.name,
    pid: child.pid as number,
    output: () => lines.join('\n'),
    memory: () => procMemory(child.pid as number),
    stop: () => stopChild(child),
  };
  try {
    await waitReady(child, options.readyUrl, options.readyTimeoutMs ?? 20_000);
  } catch (err) {
    await proc.stop();
    throw new Error(`${options.name}: ${(err as Error).message}\n--- its output ---\n${proc.output()}`);
  }
  return proc;
}

async function waitReady(child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready at ${url} after ${timeoutMs} ms (last: ${last})`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** VmHWM and VmRSS of a live process, in kB (0 when /proc does not say). */
export function procMemory(pid: number): { peakKb: number; rssKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { peakKb: field('VmHWM'), rssKb: field('VmRSS') };
}

/**
 * procMemory summed over a process and its children (the workers of a cluster): the sum
 * of each process's own peak, an upper bound of the tree's peak.
 */
export function treeMemory(pid: number): { peakKb: number; rssKb: number } {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // no children file: a single process
  }
  return [pid, ...children]
    .map(procMemory)
    .reduce((a, b) => ({ peakKb: a.peakKb + b.peakKb, rssKb: a.rssKb + b.rssKb }));
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs a command to completion; answers its stdout (throws with its stderr on failure). */
export async function runCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<string> {
  const { stdout } = await run(command, [...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
  return stdout;
}
