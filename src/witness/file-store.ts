import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { WitnessEntry, WitnessStore, WitnessStoreStatus } from './store.ts';

const entrySchema = z.strictObject({
  origin: z.string().min(1),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  root: z.string().min(1),
  checkpoint: z.string().min(1),
  updated_at: z.string().min(1),
});

const stateSchema = z.strictObject({ version: z.literal(1), logs: z.array(entrySchema) });

/**
 * The witness's state in one JSON file, `{"version": 1, "logs": [{origin, size, root,
 * checkpoint, updated_at}]}`: small (one entry per origin), read once at start and
 * rewritten whole at every update, atomically (a temp file in the same directory, fsync,
 * rename, fsync of the directory), so a crash leaves the old state or the new one.
 *
 * One writer: updates are serialized in this process, and `<file>.lock` (created
 * exclusively, holding the pid) keeps a second witness process off the same file — two
 * writers would each compare against their own copy and could roll a log back. A lock
 * left by a process that no longer runs is taken over.
 */
export class FileWitnessStore implements WitnessStore {
  readonly #file: string;
  readonly #lock: string;
  #logs = new Map<string, WitnessEntry>();
  #started = false;
  #locked = false;
  #queue: Promise<unknown> = Promise.resolve();
  #writeError: string | undefined;

  constructor(file: string) {
    if (file === '') throw new TypeError('the witness state file is empty');
    this.#file = file;
    this.#lock = `${file}.lock`;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    mkdirSync(dirname(this.#file), { recursive: true });
    takeLock(this.#lock, this.#file);
    this.#locked = true;
    try {
      this.#logs = readState(this.#file);
    } catch (err) {
      this.#releaseLock();
      throw err;
    }
    this.#started = true;
  }

  async get(origin: string): Promise<WitnessEntry | undefined> {
    this.#ready();
    return this.#logs.get(origin);
  }

  async list(prefix = ''): Promise<WitnessEntry[]> {
    this.#ready();
    return [...this.#logs.values()].filter((e) => e.origin.startsWith(prefix)).sort(byOrigin);
  }

  compareAndSet(oldSize: number, entry: WitnessEntry): Promise<boolean> {
    this.#ready();
    const run = this.#queue.then(async () => {
      if ((this.#logs.get(entry.origin)?.size ?? 0) !== oldSize) return false;
      const next = new Map(this.#logs).set(entry.origin, entry);
      try {
        await writeAtomically(this.#file, serialize(next));
      } catch (err) {
        this.#writeError = (err as Error).message;
        throw err;
      }
      this.#writeError = undefined;
      this.#logs = next;
      return true;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async status(): Promise<{ status: WitnessStoreStatus; message?: string }> {
    if (!this.#started) return { status: 'NOT_READY' };
    if (this.#writeError !== undefined) return { status: 'ERROR', message: this.#writeError };
    return { status: 'OK' };
  }

  async stop(): Promise<void> {
    await this.#queue;
    this.#started = false;
    this.#releaseLock();
  }

  #ready(): void {
    if (!this.#started) throw new Error('the witness file store is not started');
  }

  #releaseLock(): void {
    if (!this.#locked) return;
    this.#locked = false;
    try {
      unlinkSync(this.#lock);
    } catch {
      // already gone: nothing to release
    }
  }
}

function byOrigin(a: WitnessEntry, b: WitnessEntry): number {
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

/** Creates `lock` exclusively with our pid; a lock whose pid no longer runs is stale and replaced once. */
function takeLock(lock: string, file: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isSafeInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new Error(
        `the witness state ${file} is held by another process (pid ${pid}, ${lock}): ` +
          'one witness process per state file (remove the lock only if that process is not a witness)',
      );
    }
    unlinkSync(lock);
  }
  throw new Error(`cannot take the lock ${lock}: another process keeps taking it`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state in `file` (none yet: empty). One that does not parse refuses the start: never forget a log. */
function readState(file: string): Map<string, WitnessEntry> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`the witness state ${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) throw new Error(`the witness state ${file} is malformed: ${z.prettifyError(parsed.error)}`);
  const logs = new Map<string, WitnessEntry>();
  for (const { updated_at, ...entry } of parsed.data.logs) {
    if (logs.has(entry.origin)) throw new Error(`the witness state ${file} holds ${entry.origin} twice`);
    logs.set(entry.origin, { ...entry, updatedAt: updated_at });
  }
  return logs;
}

function serialize(logs: ReadonlyMap<string, WitnessEntry>): string {
  const entries = [...logs.values()].sort(byOrigin).map(({ updatedAt, ...e }) => ({ ...e, updated_at: updatedAt }));
  return `${JSON.stringify({ version: 1, logs: entries }, null, 2)}\n`;
}

/** Write to a temp file beside `file`, fsync, rename over `file`, fsync the directory (so the rename is durable). */
async function writeAtomically(file: string, data: string): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
