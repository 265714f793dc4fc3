import { closeSync, createReadStream, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { SealedRecord } from './chain.ts';
import { type AuditPage, type AuditQuery, type AuditTrail, matchesQuery } from './record.ts';
import { lastNewline } from './torn-tail.ts';

/**
 * The file sink's trail, read only: the records of `path` and of its rotated files
 * `<path>.<n>`, and the checkpoints in `<path>.checkpoints`. Opening it writes nothing.
 */
export class FileTrail implements AuditTrail {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  async *records(): AsyncIterable<SealedRecord> {
    for (const file of this.files()) {
      let line = 0;
      for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
        line += 1;
        if (text === '') continue;
        try {
          yield JSON.parse(text) as SealedRecord;
        } catch {
          throw new Error(`${file}:${line} is not a JSON record (a torn or edited line)`);
        }
      }
    }
  }

  async *checkpoints(): AsyncIterable<string> {
    const file = `${this.#path}.checkpoints`;
    if (!existsSync(file)) return;
    for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (text !== '') yield (JSON.parse(text) as { note: string }).note;
    }
  }

  async query(query: AuditQuery): Promise<AuditPage> {
    const skip = query.cursor === undefined ? 0 : Number(Buffer.from(query.cursor, 'base64url').toString());
    const records: SealedRecord[] = [];
    let matched = 0;
    for await (const record of this.records()) {
      if (!matchesQuery(record, query)) continue;
      matched += 1;
      if (matched <= skip) continue;
      if (records.length === query.limit)
        return { records, next: Buffer.from(String(skip + records.length)).toString('base64url') };
      records.push(record);
    }
    return { records, next: null };
  }

  /**
   * The last whole record of the trail (of the newest file that has one), read from the
   * end; null for an empty trail or a last line that is not JSON.
   */
  lastRecord(): SealedRecord | null {
    for (const file of this.files().reverse()) {
      const size = statSync(file).size;
      const fd = openSync(file, 'r');
      try {
        const end = lastNewline(fd, size);
        if (end === -1) continue;
        const start = lastNewline(fd, end) + 1;
        const line = Buffer.alloc(end - start);
        readSync(fd, line, 0, line.length, start);
        try {
          return JSON.parse(line.toString('utf8')) as SealedRecord;
        } catch {
          return null;
        }
      } finally {
        closeSync(fd);
      }
    }
    return null;
  }

  /** Files in chain order: rotated ones by number, then the current one. */
  files(): string[] {
    const path = this.#path;
    const dir = dirname(path);
    const name = basename(path);
    const rotated = existsSync(dir)
      ? readdirSync(dir)
          .map((f) => /^(.*)\.(\d+)$/.exec(f))
          .filter((m): m is RegExpExecArray => m !== null && m[1] === name)
          .map((m) => Number(m[2]))
          .sort((a, b) => a - b)
          .map((n) => `${path}.${n}`)
      : [];
    return existsSync(path) ? [...rotated, path] : rotated;
  }
}
