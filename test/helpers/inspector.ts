import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './paths.ts';

/** Where scripts/setup.sh installs the pinned MCP Inspector (out of package.json: it is heavy). */
const PACKAGE = `${ROOT}.tools/inspector/node_modules/@modelcontextprotocol/inspector/package.json`;

/** The Inspector's installed version and the file its `mcp-inspector` bin runs (what `npx … --cli` starts). */
export function inspectorInstall(): { version: string; bin: string } {
  if (!existsSync(PACKAGE)) {
    throw new Error('the MCP Inspector is not installed in .tools/inspector: run `bash scripts/setup.sh`');
  }
  const pkg = JSON.parse(readFileSync(PACKAGE, 'utf8')) as { version: string; bin: Record<string, string> };
  return { version: pkg.version, bin: join(dirname(PACKAGE), pkg.bin['mcp-inspector']!) };
}

export interface InspectorRun {
  /** The exit code (the Inspector's map: 0 ok, 1 error, 3 auth_required, 5 tool_error, …). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** With `--format json`: the `result` printed on success. */
  readonly result?: unknown;
  /** The `{code, message}` error envelope printed on stderr on failure. */
  readonly error?: { code: string; message: string };
}

/**
 * Runs `mcp-inspector --cli <args>` as a user does, with pipes for stdio (no TTY, so no
 * interactive OAuth) and a home directory of its own (catalogue, OAuth state and secrets
 * go there, in memory for secrets): nothing of the machine's, nothing left behind.
 */
export async function runInspectorCli(args: readonly string[], timeoutMs = 60_000): Promise<InspectorRun> {
  const { bin } = inspectorInstall();
  const home = mkdtempSync(join(tmpdir(), 'mcp-warden-inspector-'));
  try {
    const child = spawn(process.execPath, [bin, '--cli', ...args], {
      cwd: home,
      // Not process.env: no HTTP(S)_PROXY routing loopback elsewhere, no DEBUG noise.
      env: { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1', MCP_INSPECTOR_SECRET_STORE: 'memory' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`mcp-inspector --cli ${args.join(' ')}: no exit after ${timeoutMs} ms\n${stdout}${stderr}`));
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    return { code, stdout, stderr, ...parsed(code, stdout, stderr) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function parsed(code: number | null, stdout: string, stderr: string): Pick<InspectorRun, 'result' | 'error'> {
  if (code === 0) {
    try {
      return { result: (JSON.parse(stdout) as { result?: unknown }).result };
    } catch {
      return {}; // not `--format json`
    }
  }
  // The envelope is the last line; warnings may come before it.
  const line = stderr.trimEnd().split('\n').at(-1) ?? '';
  try {
    return { error: (JSON.parse(line) as { error: { code: string; message: string } }).error };
  } catch {
    return {};
  }
}

/** The HTTP status of every response one in-process server sent, from node:http's diagnostics channel. */
export function recordStatuses(server: Server): {
  statuses(): Array<{ method: string; path: string; status: number }>;
  reset(): void;
  stop(): void;
} {
  let seen: Array<{ method: string; path: string; status: number }> = [];
  const onFinish = (message: unknown) => {
    const {
      request,
      response,
      server: from,
    } = message as {
      request: IncomingMessage;
      response: ServerResponse;
      server: Server;
    };
    if (from === server)
      seen.push({ method: request.method ?? '', path: request.url ?? '', status: response.statusCode });
  };
  subscribe('http.server.response.finish', onFinish);
  return {
    statuses: () => seen.map((entry) => ({ ...entry })),
    reset() {
      seen = [];
    },
    stop: () => unsubscribe('http.server.response.finish', onFinish),
  };
}
