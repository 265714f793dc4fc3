import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { expect } from 'vitest';
import { verifyRecords, type SealedRecord } from '../../src/audit/chain.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { diskFull } from '../helpers/faults-audit.ts';
import { expectScenario } from './expect-scenario.ts';

it('disk full under the audit file: deny audit_unavailable while full, /health 503, allow again once space is freed, nothing answered is missing, the trail still verifies', { timeout: 90_000 }, async () => {
  expectScenario(await diskFull(), 5_000);
});

// The cause of the scenario's failure, on its own: a write that ENOSPC cuts short leaves
// its first bytes in the file; the batch is rejected and its seals taken back, but the
// next record is appended after the fragment, on the same line. That line is lost to
// every reader, and `audit verify` reports the trail broken for good (cutTornTail only
// repairs the last line, at start). Needs root, for a tmpfs small enough to fill.
it.runIf(process.getuid?.() === 0)('a write cut short by a full disk leaves no partial line: the next record starts on a line of its own (src/audit/file-sink.ts #flush)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-enospc-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status !== 0) throw new Error('cannot mount a tmpfs');
  try {
    const sink = new FileAuditSink({ path: join(dir, 'audit.jsonl'), signer: { sign: async () => 'unused' } as never, checkpointEveryRecords: 1e9, checkpointEveryMs: 1e12, maxFileBytes: 1e9 });
    await sink.start();
    const record = (id: string) => auditRecord('decision', Date.now(), 'pep', { decision_id: id, input: { pad: 'p'.repeat(300) } });
    for (let i = 0; i < 3; i++) await sink.append(record(`before-${i}`));
    // Fill every free page; the audit file's last page keeps some slack for a partial write.
    const fd = openSync(join(dir, 'filler'), 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096));
    } catch {
      // ENOSPC
    } finally {
      closeSync(fd);
    }
    let refused = 0;
    for (let i = 0; i < 20; i++) await sink.append(record(`full-${i}`)).catch(() => (refused += 1));
    expect(refused).toBeGreaterThan(0);
    rmSync(join(dir, 'filler'));
    await sink.append(record('after'));
    await sink.stop();
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trimEnd().split('\n');
    const unreadable = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(unreadable.map((l) => `${l.slice(0, 60)}…${l.slice(-40)}`)).toEqual([]);
    expect(JSON.parse(lines.at(-1) as string).decision_id).toBe('after');
  } finally {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

// Found by the disk-full scenario after the fix above: the sink now cuts a torn *tail*
// after a failed write, but a group commit that ENOSPC cuts short may already have put
// whole lines in the file. Those records were refused (their decisions answered
// audit_unavailable) and their seals taken back, yet they stay: the next batch reuses
// their sequence numbers, `audit verify` reports "record N appears a second time", and
// the trail holds records of answers that were never given. Needs root (tmpfs).
it.runIf(process.getuid?.() === 0)('a group commit cut short by a full disk leaves none of its records behind: the chain verifies and no refused decision is in the file (src/audit/file-sink.ts #flush)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-enospc-batch-'));
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status !== 0) throw new Error('cannot mount a tmpfs');
  try {
    const sink = new FileAuditSink({ path: join(dir, 'audit.jsonl'), signer: { sign: async () => 'unused' } as never, checkpointEveryRecords: 1e9, checkpointEveryMs: 1e12, maxFileBytes: 1e9 });
    await sink.start();
    const record = (id: string) => auditRecord('decision', Date.now(), 'pep', { decision_id: id, input: { pad: 'p'.repeat(200) } });
    await sink.append(record('before'));
    const fd = openSync(join(dir, 'filler'), 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096));
    } catch {
      // ENOSPC: the audit file's last page keeps room for a few whole lines, not for 40
    } finally {
      closeSync(fd);
    }
    // One group commit (same event-loop turn) larger than the room left.
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => sink.append(record(`batch-${i}`)).then(() => 'ok', () => 'refused')));
    expect(outcomes.filter((o) => o === 'refused').length).toBeGreaterThan(0);
    rmSync(join(dir, 'filler'));
    await sink.append(record('after'));
    await sink.stop();
    const records = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as SealedRecord);
    const refused = new Set(outcomes.flatMap((o, i) => (o === 'refused' ? [`batch-${i}`] : [])));
    expect(records.filter((r) => refused.has(r.decision_id ?? '')).map((r) => r.decision_id)).toEqual([]);
    expect(verifyRecords(records)).toMatchObject({ ok: true });
  } finally {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
