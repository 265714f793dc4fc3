import { hash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync, truncateSync } from 'node:fs';

/** What was cut off a trail file: a line a crash left half-written. */
export interface TailCut {
  readonly cut_bytes: number;
  readonly cut_sha256: string;
}

/**
 * A crash can leave a last line without its newline. It is cut explicitly here (and the
 * caller records the cut), rather than left to break verification or be silently
 * skipped. Returns null when the file ends cleanly.
 */
export function cutTornTail(path: string): TailCut | null {
  if (!existsSync(path)) return null;
  const size = statSync(path).size;
  if (size === 0) return null;
  const fd = openSync(path, 'r');
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return null;
    const keep = lastNewline(fd, size) + 1;
    const torn = Buffer.alloc(size - keep);
    readSync(fd, torn, 0, torn.length, keep);
    truncateSync(path, keep);
    return { cut_bytes: torn.length, cut_sha256: hash('sha256', torn, 'hex') };
  } finally {
    closeSync(fd);
  }
}

/** The offset of the last newline before `end` in the open file `fd`, reading backwards in chunks; -1 if none. */
export function lastNewline(fd: number, end: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  for (let stop = end; stop > 0; ) {
    const start = Math.max(0, stop - chunk.length);
    const n = readSync(fd, chunk, 0, stop - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at !== -1) return start + at;
    stop = start;
  }
  return -1;
}
