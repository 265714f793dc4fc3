import type * as Fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { type SealedRecord, verifyRecords } from '../../src/audit/chain.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { diskFull } from '../helpers/faults-audit.ts';
import { expectScenario } from './expect-scenario.ts';

it('disk full under the audit file: audit_unavailable and /health 503, then allowed; nothing lost, trail verifies', {
  timeout: 90_000,
}, async () => {
  expectScenario(await diskFull(), 5_000);
});

/**
 * A disk with `room` bytes left under the file at `path`, as the kernel fills one: a write
 * larger than the room writes what fits and reports the short count, the next one fails
 * ENOSPC. The sink opens its file with `createWriteStream`; the stream gets this fs layer
 * for writes, so any user (not only root, with a small tmpfs) can fill the disk.
 */
const disk = vi.hoisted(() => ({ path: '', room: Number.POSITIVE_INFINITY, shortWrites: 0, refusedWrites: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  type WriteCallback = (err: NodeJS.ErrnoException | null, written: number, buffer: Buffer) => void;
  // fs.write's own signature, which the stream calls.
  // biome-ignore lint/complexity/useMaxParams: the fs layer a WriteStream takes has this shape
  const write = (
    fd: number,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number | null,
    cb: WriteCallback,
  ) => {
    if (disk.room <= 0) {
      disk.refusedWrites += 1;
      const err: NodeJS.ErrnoException = Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
      });
      return void process.nextTick(cb, err, 0, buffer);
    }
    const fits = Math.min(length, disk.room);
    if (fits < length) disk.shortWrites += 1;
    disk.room -= fits;
    fs.write(fd, buffer, offset, fits, position, cb);
  };
  const layer = { open: fs.open, close: fs.close, write };
  const createWriteStream = (path: Fs.PathLike, options?: Parameters<typeof fs.createWriteStream>[1]) =>
    String(path) === disk.path && typeof options === 'object'
      ? fs.createWriteStream(path, { ...options, fs: layer })
      : fs.createWriteStream(path, options);
  return { ...fs, default: { ...fs, createWriteStream }, createWriteStream };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-warden-enospc-'));
  Object.assign(disk, {
    path: join(dir, 'audit.jsonl'),
    room: Number.POSITIVE_INFINITY,
    shortWrites: 0,
    refusedWrites: 0,
  });
});
afterEach(() => {
  disk.path = '';
  rmSync(dir, { recursive: true, force: true });
});

function openSink(): FileAuditSink {
  const never = 1e12;
  return new FileAuditSink({
    path: disk.path,
    signer: { sign: async () => 'unused' } as never,
    checkpointEveryRecords: never,
    checkpointEveryMs: never,
    maxFileBytes: never,
  });
}

const record = (id: string) =>
  auditRecord('decision', Date.now(), 'pep', { decision_id: id, input: { pad: 'p'.repeat(300) } });

function unreadableLines(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    })
    .map((l) => `${l.slice(0, 60)}…${l.slice(-40)}`);
}

// A write that ENOSPC cuts short leaves its first bytes in the file; the batch is rejected
// and its seals taken back. Were the next record appended after the fragment, on the same
// line, that line would be lost to every reader and `audit verify` would report the trail
// broken for good (cutTornTail only repairs the last line, at start).
it('a write cut short by a full disk leaves no partial line: the next record starts a line of its own', async () => {
  const sink = openSink();
  await sink.start();
  for (let i = 0; i < 3; i++) await sink.append(record(`before-${i}`));
  disk.room = 100;
  await expect(sink.append(record('torn'))).rejects.toMatchObject({ code: 'audit_unavailable' });
  // The fault is the one meant: a fragment of the refused record ends the file.
  expect(disk.shortWrites).toBe(1);
  expect(readFileSync(disk.path, 'utf8').endsWith('\n')).toBe(false);
  let refused = 0;
  for (let i = 0; i < 5; i++) await sink.append(record(`full-${i}`)).catch(() => (refused += 1));
  expect(refused).toBe(5);
  expect(sink.status()).toBe('ERROR');
  disk.room = Number.POSITIVE_INFINITY;
  await sink.append(record('after'));
  expect(sink.status()).toBe('OK');
  await sink.stop();
  const text = readFileSync(disk.path, 'utf8');
  expect(unreadableLines(text)).toEqual([]);
  const records = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as SealedRecord);
  const decided = records.filter((r) => r.kind === 'decision').map((r) => r.decision_id);
  expect(decided).toEqual(['before-0', 'before-1', 'before-2', 'after']);
  expect(verifyRecords(records)).toMatchObject({ ok: true });
});

it('the fragment a full disk left is cut at the next write and the cut is recorded (audit.recovered)', async () => {
  const sink = openSink();
  await sink.start();
  await sink.append(record('before'));
  disk.room = 100;
  await expect(sink.append(record('torn'))).rejects.toMatchObject({ code: 'audit_unavailable' });
  const fragment = readFileSync(disk.path, 'utf8').split('\n').at(-1) as string;
  expect(Buffer.byteLength(fragment)).toBe(100);
  disk.room = Number.POSITIVE_INFINITY;
  await sink.append(record('after'));
  await sink.stop();
  const records = readFileSync(disk.path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as SealedRecord);
  expect(records.map((r) => r.decision_id ?? r.kind)).toEqual([
    'audit.chain_started',
    'before',
    'audit.recovered',
    'after',
    'audit.chain_closed',
  ]);
  expect(records[2]?.detail).toMatchObject({ after: 'a failed write', cut_bytes: 100 });
  expect(verifyRecords(records)).toMatchObject({ ok: true });
});

it('the record of a cut is kept until it is written, when the disk is still full at the cut', async () => {
  const sink = openSink();
  await sink.start();
  await sink.append(record('before'));
  disk.room = 100;
  await expect(sink.append(record('torn'))).rejects.toMatchObject({ code: 'audit_unavailable' });
  // Still full: the next write cuts the fragment, then its batch (the cut's record too) is refused.
  disk.room = 0;
  await expect(sink.append(record('still-full'))).rejects.toMatchObject({ code: 'audit_unavailable' });
  expect(readFileSync(disk.path, 'utf8').endsWith('\n')).toBe(true);
  disk.room = Number.POSITIVE_INFINITY;
  await sink.append(record('after'));
  await sink.stop();
  const records = readFileSync(disk.path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as SealedRecord);
  expect(records.map((r) => r.decision_id ?? r.kind)).toEqual([
    'audit.chain_started',
    'before',
    'audit.recovered',
    'after',
    'audit.chain_closed',
  ]);
  expect(records[2]?.detail).toMatchObject({ after: 'a failed write', cut_bytes: 100 });
  expect(verifyRecords(records)).toMatchObject({ ok: true });
});

// A group commit that ENOSPC cuts short may already have put whole lines in the file.
// Those records were refused (their decisions answered audit_unavailable) and their seals
// taken back; were they left, the next batch would reuse their sequence numbers, `audit
// verify` would report "record N appears a second time", and the trail would hold records
// of answers that were never given.
it('a group commit cut short by a full disk leaves none of its records behind: the chain verifies', async () => {
  const sink = openSink();
  await sink.start();
  await sink.append(record('before'));
  disk.room = 2_000;
  // One group commit (same event-loop turn) larger than the room left.
  const outcomes = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      sink.append(record(`batch-${i}`)).then(
        () => 'ok',
        () => 'refused',
      ),
    ),
  );
  expect(outcomes.every((o) => o === 'refused')).toBe(true);
  // The fault is the one meant: whole lines of refused records are in the file.
  expect(readFileSync(disk.path, 'utf8')).toContain('"decision_id":"batch-1"');
  disk.room = Number.POSITIVE_INFINITY;
  await sink.append(record('after'));
  await sink.stop();
  const records = readFileSync(disk.path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as SealedRecord);
  expect(records.map((r) => r.decision_id ?? r.kind)).toEqual([
    'audit.chain_started',
    'before',
    'audit.recovered',
    'after',
    'audit.chain_closed',
  ]);
  expect(verifyRecords(records)).toMatchObject({ ok: true });
});

it('a write refused outright (no room at all) leaves the file as it was and the sink recovers by itself', async () => {
  const sink = openSink();
  await sink.start();
  await sink.append(record('before'));
  const size = readFileSync(disk.path).length;
  disk.room = 0;
  await expect(sink.append(record('refused'))).rejects.toMatchObject({ code: 'audit_unavailable' });
  expect(disk.refusedWrites).toBeGreaterThan(0);
  expect(readFileSync(disk.path).length).toBe(size);
  disk.room = Number.POSITIVE_INFINITY;
  await sink.append(record('after'));
  await sink.stop();
  const records = readFileSync(disk.path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as SealedRecord);
  expect(records.map((r) => r.decision_id ?? r.kind)).toEqual([
    'audit.chain_started',
    'before',
    'after',
    'audit.chain_closed',
  ]);
  expect(verifyRecords(records)).toMatchObject({ ok: true });
});
