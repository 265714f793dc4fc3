import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { AuditUnavailable } from '../errors.ts';
import type { AuditRecord, AuditSink } from './record.ts';

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/**
 * Appends one JSON line per record to a file. A record counts as accepted once the
 * write reached the operating system. Records appended in the same event-loop turn go
 * out in one write (group commit). A failed stream fails every later append (fail
 * closed) until the sink is restarted.
 */
export class FileAuditSink implements AuditSink {
  readonly #path: string;
  #stream: WriteStream | undefined;
  #failure: Error | undefined;
  #pending: Pending[] = [];

  constructor(path: string) {
    this.#path = path;
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.#path), { recursive: true });
    const stream = createWriteStream(this.#path, { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    stream.on('error', (err) => {
      this.#failure = err;
    });
    this.#stream = stream;
    this.#failure = undefined;
  }

  append(record: AuditRecord): Promise<void> {
    const stream = this.#stream;
    if (stream === undefined || this.#failure !== undefined || stream.destroyed) {
      return Promise.reject(new AuditUnavailable('the audit file is not writable'));
    }
    const line = `${JSON.stringify(record)}\n`;
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ line, resolve, reject }) === 1) setImmediate(() => this.#flush(stream));
    });
  }

  #flush(stream: WriteStream): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    stream.write(batch.map((p) => p.line).join(''), (err) => {
      for (const p of batch) {
        if (err) p.reject(new AuditUnavailable('the audit file is not writable'));
        else p.resolve();
      }
    });
  }

  async stop(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return;
    this.#flush(stream);
    await new Promise<void>((resolve) => stream.end(() => resolve()));
  }
}
