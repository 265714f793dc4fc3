import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { ROOT } from './paths.ts';

/** The CLI as the README runs it: `node src/cli.ts`. */
export const CLI = join(ROOT, 'src/cli.ts');

export interface RunningService {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `mcp-warden <args>` and resolves once its output matches `listening` (group 1: the URL). */
export async function startCommand(
  args: string[],
  options: { cwd: string; listening: RegExp; env?: NodeJS.ProcessEnv },
): Promise<RunningService> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      const m = options.listening.exec(out);
      if (m) resolve(m[1] as string);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
  });
  return {
    child,
    url,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Starts `mcp-warden serve` on a free port and resolves with its URL once it listens. */
export function startServe(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunningService> {
  return startCommand(['serve', '--port', '0', ...args], {
    cwd,
    env,
    listening: /mcp-warden listening on (http:\/\/[^"\s]+)/,
  });
}

/** Runs `mcp-warden <args>` to its end: the exit code and everything it wrote. */
export function runCommand(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * Runs `mcp-warden <args>` to its end, or kills it once `withinMs` have passed: a process
 * that never exits then fails its test on `signal: 'SIGKILL'` instead of outliving it.
 */
export function runCommandWithin(
  args: string[],
  options: { cwd: string; withinMs: number },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const deadline = setTimeout(() => child.kill('SIGKILL'), options.withinMs);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** A plain TCP listener holding a free loopback port, so that a command finds it taken. */
export async function occupyPort(host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** POSTs JSON and answers status and body. */
// biome-ignore lint/suspicious/noExplicitAny: test JSON of any shape, asserted field by field
export async function postJson(url: string, body: unknown, method = 'POST'): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

export interface HeldJwks {
  readonly url: string;
  hits(): number;
  release(): void;
  close(): Promise<void>;
}

/** A JWKS endpoint that holds every answer until `release()`: what keeps a served process's decisions in flight. */
export async function heldJwks(keys: JWK[]): Promise<HeldJwks> {
  let hits = 0;
  let open = false;
  const held: (() => void)[] = [];
  const server: Server = createServer((_req, res) => {
    hits += 1;
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    if (open) answer();
    else held.push(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    hits: () => hits,
    release() {
      open = true;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it holds, for an event a process shows only from outside. */
export async function until(check: () => boolean | Promise<boolean>, what: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
