import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** Runs `text` (one or more statements) on a connection of its own to `url`. */
export async function runSql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The URL of `server` for another role (trust authentication: no password). */
export function urlAs(server: PostgresServer, role: string): string {
  return server.url.replace('postgres://postgres@', `postgres://${role}@`);
}

/** A PostgreSQL cluster of our own on a loopback port, trust auth, superuser `postgres`. */
export interface PostgresServer {
  /** Connects as the superuser to the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown (SIGINT: sessions are cut), waits for the exit and removes the cluster. */
  stop(): Promise<void>;
  /** Fast shutdown, keeping the data for `restart()`: the database is down. */
  halt(): Promise<void>;
  /** SIGKILL to the postmaster and its backends: connections drop without a goodbye. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and data (after `kill9`, with crash recovery). */
  restart(): Promise<void>;
  /** SIGSTOP to every process of the cluster: sockets stay open but nothing answers. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
}

const SETUP_HINT = "run `bash scripts/setup.sh` (it installs Debian's postgresql package)";

/** Starts a fresh cluster and waits until it answers a query; fails (never skips) when PostgreSQL is not installed. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = serverBinDir();
  const user = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    {
      cwd: dir,
      encoding: 'utf8',
      ...user,
    },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}): ${init.stderr}`);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const launch = () => launchPostgres({ bin, data, dir, port, url, user });
  let child: ChildProcess;
  try {
    child = await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const exit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    signalCluster(child, 'SIGCONT');
    // SIGKILL goes to the backends too: those of a killed postmaster would linger a while.
    if (signal === 'SIGKILL') signalCluster(child, signal);
    else child.kill(signal);
    await exited;
  };
  return {
    url,
    port,
    stop: async () => {
      await exit('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
    halt: () => exit('SIGINT'),
    kill9: () => exit('SIGKILL'),
    restart: async () => {
      await exit('SIGINT');
      child = await launch();
    },
    pause: () => signalCluster(child, 'SIGSTOP'),
    resume: () => signalCluster(child, 'SIGCONT'),
  };
}

/** initdb/postgres from PATH when there, else the newest /usr/lib/postgresql/<ver>/bin. */
function serverBinDir(): string {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (which !== '') {
    const found = dirname(realpathSync(which));
    if (existsSync(join(found, 'postgres'))) return found;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined)
    throw new Error(`the PostgreSQL server (initdb, postgres) is not installed: ${SETUP_HINT}`);
  return join(root, versions[0], 'bin');
}

/**
 * PostgreSQL refuses to run as root. As root we run initdb and postgres as the `postgres`
 * system user the Debian package creates (Node's spawn sets uid/gid and drops the
 * supplementary groups before exec, so no runuser/su process stands between us and the
 * postmaster and its signals).
 */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(`running as root and there is no \`postgres\` user to run PostgreSQL as: ${SETUP_HINT}`);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

interface Launch {
  readonly bin: string;
  readonly data: string;
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly user: { uid: number; gid: number } | undefined;
}

async function launchPostgres({ bin, data, dir, port, url, user }: Launch): Promise<ChildProcess> {
  const logFile = join(dir, 'postgres.log');
  const log = openSync(logFile, 'a');
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'full_page_writes=off',
  ];
  // Detached: a Ctrl-C meant for the test runner must not shut the cluster down under it.
  const child = spawn(join(bin, 'postgres'), args, { cwd: dir, stdio: ['ignore', log, log], detached: true, ...user });
  closeSync(log);
  // A test run that dies must not leave clusters behind.
  process.once('exit', () => signalCluster(child, 'SIGKILL'));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`postgres exited (code ${child.exitCode}) on port ${port}: ${tail(logFile)}`);
    if (await answers(url)) return child;
    await sleep(50);
  }
  signalCluster(child, 'SIGKILL');
  throw new Error(`postgres did not accept connections on port ${port} within 20 s: ${tail(logFile)}`);
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Signals the postmaster and its children by pid. Not by process group: every backend
 * calls setsid() and leads its own.
 */
function signalCluster(postmaster: ChildProcess, signal: NodeJS.Signals): void {
  if (postmaster.exitCode !== null || postmaster.signalCode !== null) return;
  const pid = postmaster.pid!;
  for (const p of [...childrenOf(pid), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-10).join('\n') : '(no log)';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
