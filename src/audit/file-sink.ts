import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { AuditUnavailable } from '../errors.ts';
import type { AuditRecord, AuditSink } from './record.ts';

/**
 * Appends one JSON line per record to a file. A record counts as accepted once the
 * write reached the operating system; a failed stream fails every later append
 * (fail closed) until the sink is restarted.
 */
export class FileAuditSink implements AuditSink {
  readonly #path: string;
  #stream: WriteStream | undefined;
  #failure: Error | undefined;

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
      stream.write(line, (err) => (err ? reject(new AuditUnavailable('the audit file is not writable')) : resolve()));
    });
  }

  async stop(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined || stream.destroyed) return;
    await new Promise<void>((resolve) => stream.end(() => resolve()));
  }
}
