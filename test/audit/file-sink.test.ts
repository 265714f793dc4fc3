import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import type { AuditRecord } from '../../src/audit/record.ts';

const record = (n: number): AuditRecord => ({
  v: 1, ts: new Date(0).toISOString(), kind: 'decision', decision_id: `d${n}`, caller: 'pep', principal: null,
  session: null, server: 's', method: 'ping', tool: null, allow: false, reasons: [], policy_revision: null,
});

describe('FileAuditSink', () => {
  it('writes every record appended in one turn, in order, one line each', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mcp-warden-audit-')), 'a.jsonl');
    const sink = new FileAuditSink(file);
    await sink.start();
    await Promise.all(Array.from({ length: 500 }, (_, i) => sink.append(record(i))));
    await sink.append(record(500));
    await sink.stop();
    const ids = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).decision_id);
    expect(ids).toEqual(Array.from({ length: 501 }, (_, i) => `d${i}`));
  });

  it('flushes what is pending on stop', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mcp-warden-audit-')), 'a.jsonl');
    const sink = new FileAuditSink(file);
    await sink.start();
    const appended = sink.append(record(1));
    await sink.stop();
    await expect(appended).resolves.toBeUndefined();
    expect(readFileSync(file, 'utf8')).toContain('"d1"');
  });

  it('refuses records when the disk is full (/dev/full), and after that (fail closed)', async () => {
    const sink = new FileAuditSink('/dev/full');
    await sink.start();
    await expect(sink.append(record(1))).rejects.toMatchObject({ code: 'audit_unavailable' });
    await expect(sink.append(record(2))).rejects.toMatchObject({ code: 'audit_unavailable' });
    await sink.stop();
  });

  it('refuses records when never started', async () => {
    await expect(new FileAuditSink('/tmp/x').append(record(1))).rejects.toMatchObject({ code: 'audit_unavailable' });
  });
});
