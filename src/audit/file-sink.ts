import { hash } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  existsSync,
  fdatasync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  truncateSync,
  type WriteStream,
} from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { newChainId, type ChainHead, type SealedRecord } from './chain.ts';
import { lastCheckpointOf, linkTo } from './chain-link.ts';
import { FileTrail } from './file-trail.ts';
import type { CheckpointSigner } from './checkpoint.ts';
import { GroupCommit, scheduleOf } from './group-commit.ts';
import type { WitnessClient } from './witness-client.ts';
import { cutTornTail, type TailCut } from './torn-tail.ts';
import { auditRecord, type AuditPage, type AuditQuery, type AuditRecord, type AuditSink } from './record.ts';

export interface FileSinkOptions {
  readonly path: string;
  readonly signer: CheckpointSigner;
  readonly checkpointEveryRecords: number;
  readonly checkpointEveryMs: number;
  /** Where each checkpoint goes to be cosigned, and whether a witness's silence fails appends. */
  readonly witness?: WitnessClient | undefined;
  readonly requireWitness?: boolean | undefined;
  /** Rotate to `<path>.<n>` before a write would pass this size. */
  readonly maxFileBytes: number;
  readonly chain?: string;
  readonly now?: () => number;
}

const datasync = promisify(fdatasync);

/**
 * The embedded default sink: one JSON line per sealed record in a file, and signed
 * checkpoints in `<path>.checkpoints`. Records appended in the same event-loop turn go out
 * in one write followed by one fdatasync (group commit, `group-commit.ts`); a record
 * counts as accepted once it is on disk. A line torn by a crash is cut at start, and the
 * cut is recorded. After a failed write the next append reopens the file and cuts what
 * the refused batch left, so the sink recovers by itself. Rotation renames the full file
 * to `<path>.<n>`; the chain carries on.
 */
export class FileAuditSink implements AuditSink {
  readonly #options: FileSinkOptions;
  readonly #now: () => number;
  readonly #commit: GroupCommit;
  readonly #trail: FileTrail;
  #stream: WriteStream | undefined;
  #size = 0;
  #failure: Error | undefined;

  constructor(options: FileSinkOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#trail = new FileTrail(options.path);
    this.#commit = new GroupCommit(
      {
        prepare: (_sealer, failedBefore) => this.#prepare(failedBefore),
        write: (sealed) => this.#writeBatch(sealed),
        storeCheckpoint: async (_head, signed) => {
          await appendFile(`${this.#options.path}.checkpoints`, `${JSON.stringify({ note: signed })}\n`, {
            mode: 0o600,
          });
        },
      },
      {
        chain: options.chain ?? newChainId(),
        ...scheduleOf(options),
        now: this.#now,
      },
    );
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.#options.path), { recursive: true });
    const cut = cutTornTail(this.#options.path);
    const last = this.#trail.lastRecord();
    const checkpoint =
      last === null ? null : await lastCheckpointOf(this.#trail, last.chain, this.#options.signer.verifier);
    await this.#open().catch(() => undefined); // an unwritable file is retried at the first write
    const recovered =
      cut === null
        ? []
        : [auditRecord('audit.recovered', this.#now(), 'mcp-warden', { detail: { file: this.#options.path, ...cut } })];
    await this.#commit.open(linkTo(last, checkpoint), recovered);
  }

  append(record: AuditRecord): Promise<void> {
    return this.#commit.append(record);
  }

  /** Ends the chain with its close record and a checkpoint covering it, then closes the file. */
  async stop(): Promise<void> {
    await this.#commit.close();
    await this.#close();
  }

  head(): ChainHead {
    return this.#commit.head;
  }

  status(): 'OK' | 'ERROR' {
    return this.#failure === undefined && !this.#commit.failing && this.#stream !== undefined ? 'OK' : 'ERROR';
  }

  records(): AsyncIterable<SealedRecord> {
    return this.#trail.records();
  }

  checkpoints(): AsyncIterable<string> {
    return this.#trail.checkpoints();
  }

  query(query: AuditQuery): Promise<AuditPage> {
    return this.#trail.query(query);
  }

  /**
   * After a failed write (a full disk) the file may end in part of a line: it is cut (its
   * batch was refused, never answered), and the cut is owed to the trail as a record.
   */
  async #prepare(failedBefore: boolean): Promise<AuditRecord[]> {
    const failed = failedBefore || this.#failure !== undefined;
    const recovered = failed ? this.#recoverTail() : [];
    if (failed || this.#stream === undefined) await this.#open();
    return recovered;
  }

  async #writeBatch(sealed: readonly SealedRecord[]): Promise<void> {
    const data = sealed.map((r) => `${JSON.stringify(r)}\n`).join('');
    const bytes = Buffer.byteLength(data);
    if (this.#size > 0 && this.#size + bytes > this.#options.maxFileBytes) await this.#rotate();
    await this.#write(data);
    this.#size += bytes;
  }

  /** The cut of a torn last line as a record to write first, or nothing. */
  #recoverTail(): AuditRecord[] {
    // Everything past the size before the refused batch goes: its whole records too
    // (they were refused, never answered, and their seals were taken back).
    const cut = cutBack(this.#options.path, this.#size) ?? cutTornTail(this.#options.path);
    if (cut === null) return [];
    return [
      auditRecord('audit.recovered', this.#now(), 'mcp-warden', {
        detail: { file: this.#options.path, after: 'a failed write', ...cut },
      }),
    ];
  }

  async #write(data: string): Promise<void> {
    const stream = this.#stream as WriteStream;
    await new Promise<void>((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve())));
    // `fd` is set once the stream is open (typed only on ReadStream in @types/node).
    await datasync((stream as unknown as { fd: number }).fd);
  }

  async #rotate(): Promise<void> {
    await this.#close();
    const numbers = this.#trail.files().map((f) => Number(/\.(\d+)$/.exec(f)?.[1] ?? 0));
    renameSync(this.#options.path, `${this.#options.path}.${Math.max(0, ...numbers) + 1}`);
    await this.#open();
  }

  async #open(): Promise<void> {
    await this.#close();
    const stream = createWriteStream(this.#options.path, { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    stream.on('error', (err) => {
      this.#failure = err;
    });
    this.#stream = stream;
    this.#size = statSync(this.#options.path).size;
    this.#failure = undefined;
  }

  async #close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return;
    await new Promise<void>((resolve) => stream.end(() => resolve()));
  }
}

/** Truncates `path` back to `size` bytes, answering what was cut; null when it is no longer. */
function cutBack(path: string, size: number): TailCut | null {
  if (!existsSync(path)) return null;
  const now = statSync(path).size;
  if (now <= size) return null;
  const tail = Buffer.alloc(now - size);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, tail, 0, tail.length, size);
  } finally {
    closeSync(fd);
  }
  truncateSync(path, size);
  return { cut_bytes: tail.length, cut_sha256: hash('sha256', tail, 'hex') };
}
