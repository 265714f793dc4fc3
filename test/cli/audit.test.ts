import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { formatSignerKey, formatVerifierKey, noteSigner, verifierOf } from '../../src/audit/signed-note.ts';
import { runCommand } from '../helpers/cli.ts';

const OLD = Date.parse('2020-01-01T12:00:00.000Z');

describe('mcp-warden audit verify / query / keys refuse what they cannot vouch for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-audit-cli-'));
  const trail = join(dir, 'var/audit/audit.jsonl');
  const keyFile = join(dir, 'var/keys/audit-checkpoint.jwk');
  const audit = (...args: string[]) => runCommand(['audit', ...args], dir);
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  beforeAll(async () => {
    const signer = await loadCheckpointSigner(keyFile);
    const sink = new FileAuditSink({
      path: trail,
      signer,
      checkpointEveryRecords: 100,
      checkpointEveryMs: 60_000,
      maxFileBytes: 1 << 30,
    });
    await sink.start();
    const now = Date.now();
    await sink.append(auditRecord('decision', now, 'pep', { allow: true, tool: 'fs_read' }));
    await sink.append(auditRecord('decision', now, 'pep', { allow: false, tool: 'fs_delete' }));
    await sink.append(auditRecord('session.created', OLD, 'pep'));
    await sink.stop();
  });

  const tools = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l).tool ?? JSON.parse(l).kind);

  describe('verify', () => {
    it('passes a real trail with its checkpoint key', async () => {
      const { code, stdout, stderr } = await audit('verify', '--file', trail);
      // The 3 records between the chain's start and close records.
      expect(stdout).toMatch(/^ok: 5 records in 1 chain\(s\), 1 signed checkpoint\(s\) verified\n$/);
      // The rate on stderr, so that the verdict stays the one line on stdout.
      expect(stderr).toMatch(/^verified in \d+\.\d s \(\d+ records\/s\)$/m);
      expect(code).toBe(0);
    });

    it('fails a missing trail, naming it, and does not create it', async () => {
      const { code, stderr } = await audit('verify', '--file', 'var/nope.jsonl');
      expect(stderr).toMatch(/the trail var\/nope\.jsonl is missing/);
      expect(code).toBe(1);
      expect(existsSync(join(dir, 'var/nope.jsonl'))).toBe(false);
    });

    it('fails an empty trail, naming it', async () => {
      const empty = write('empty.jsonl', '');
      const { code, stdout, stderr } = await audit('verify', '--file', empty, '--keys', await exported());
      expect(stderr).toContain(`the trail ${empty} is empty`);
      expect(stdout).not.toMatch(/^ok/);
      expect(code).toBe(1);
    });

    it('reports a torn last line as broken and leaves the file as it was', async () => {
      const torn = write('torn.jsonl', `${readFileSync(trail, 'utf8')}{"v":1,"kind":"decis`);
      const size = statSync(torn).size;
      const { code, stderr } = await audit('verify', '--file', torn, '--keys', await exported());
      expect(stderr).toMatch(/^BROKEN: .*torn\.jsonl:6 is not a JSON record/);
      expect(code).toBe(1);
      expect(statSync(torn).size).toBe(size);
    });

    it('refuses a --keys file that cannot be read, exit 2, naming it', async () => {
      const { code, stderr } = await audit('verify', '--file', trail, '--keys', 'auditors.vkeys');
      expect(stderr).toMatch(/--keys auditors\.vkeys cannot be read: ENOENT/);
      expect(code).toBe(2);
    });

    it('refuses a --keys file without a key, or with one that is not a verifier key, exit 2', async () => {
      const empty = await audit('verify', '--file', trail, '--keys', write('empty.vkeys', '# none yet\n\n'));
      expect(empty.stderr).toMatch(/--keys .*empty\.vkeys holds no key: export one with/);
      expect(empty.code).toBe(2);
      const jwks = await audit('verify', '--file', trail, '--keys', write('old.json', '{"keys": []}'));
      expect(jwks.stderr).toMatch(/--keys .*old\.json key 1 is not a verifier key <name>\+<key id>\+<base64 key>/);
      expect(jwks.code).toBe(2);
    });

    it('refuses a private key or a witness cosignature key given as --keys', async () => {
      const seed = Buffer.from(JSON.parse(readFileSync(keyFile, 'utf8')).d, 'base64url');
      const privateKey = formatSignerKey(noteSigner('mcp-warden', seed));
      const priv = await audit('verify', '--file', trail, '--keys', write('private.vkeys', `${privateKey}\n`));
      expect(priv.stderr).toMatch(/key 1 is a private key: give only the verifier key/);
      expect(priv.code).toBe(2);
      const witness = formatVerifierKey(verifierOf(noteSigner('mcp-warden', seed, 'cosignature/v1')));
      const cosigner = await audit('verify', '--file', trail, '--keys', write('witness.vkeys', `${witness}\n`));
      expect(cosigner.stderr).toMatch(/key 1 is a witness's cosignature key, not a log key/);
      expect(cosigner.code).toBe(2);
    });

    it('with keys that did not sign the trail: BROKEN, naming the trusted keys', async () => {
      const other = formatVerifierKey(verifierOf(noteSigner('mcp-warden', randomBytes(32))));
      const { code, stderr } = await audit('verify', '--file', trail, '--keys', write('stranger.vkeys', other));
      expect(stderr).toMatch(/^BROKEN: checkpoint 1 does not verify with the trusted keys \(mcp-warden\): /);
      expect(code).toBe(1);
    });

    it('with the right keys but an altered checkpoint: BROKEN, the signature does not verify', async () => {
      const forged = write('forged.jsonl', readFileSync(trail, 'utf8'));
      const { note } = JSON.parse(readFileSync(`${trail}.checkpoints`, 'utf8'));
      const altered = (note as string).replace(/\n5\n/, '\n4\n');
      expect(altered).not.toBe(note);
      write('forged.jsonl.checkpoints', `${JSON.stringify({ note: altered })}\n`);
      const { code, stderr } = await audit('verify', '--file', forged, '--keys', await exported());
      expect(stderr).toMatch(/^BROKEN: checkpoint 1 does not verify with the trusted keys \(mcp-warden\)/);
      expect(code).toBe(1);
    });

    it("without --keys, trusts the service's own key, and says so", async () => {
      const { code, stdout, stderr } = await audit('verify', '--file', trail);
      expect(stdout).toMatch(/^ok: 5 records/);
      expect(stderr).toMatch(/trusting the service's own checkpoint key var\/keys\/audit-checkpoint\.jwk/);
      expect(code).toBe(0);
    });

    it('without --keys and without a checkpoint key: exit 2, and no new key is made', async () => {
      const elsewhere = mkdtempSync(join(tmpdir(), 'mcp-warden-audit-cli-nokey-'));
      const { code, stderr } = await runCommand(['audit', 'verify', '--file', trail], elsewhere);
      expect(stderr).toMatch(/no checkpoint key at var\/keys\/audit-checkpoint\.jwk/);
      expect(code).toBe(2);
      expect(existsSync(join(elsewhere, 'var/keys/audit-checkpoint.jwk'))).toBe(false);
    });

    it("with an auditor's --keys far from the service: verifies, and writes nothing anywhere", async () => {
      const elsewhere = mkdtempSync(join(tmpdir(), 'mcp-warden-audit-cli-auditor-'));
      const before = { trail: readFileSync(trail), listing: readdirSync(dirname(trail)).sort() };
      const { code, stdout } = await runCommand(
        ['audit', 'verify', '--file', trail, '--keys', await exported()],
        elsewhere,
      );
      expect(stdout).toMatch(/^ok: 5 records/);
      expect(code).toBe(0);
      expect(readdirSync(elsewhere)).toEqual([]);
      expect(readFileSync(trail)).toEqual(before.trail);
      expect(readdirSync(dirname(trail)).sort()).toEqual(before.listing);
    });
  });

  it('refuses a verb it does not know, exit 2, with the usage', async () => {
    const { code, stderr } = await audit('decisions', '--file', trail);
    expect(stderr).toMatch(/^audit: unknown verb "decisions"\n\nusage: mcp-warden audit verify\|query\|access\|keys/);
    expect(code).toBe(2);
  });

  describe('verify --closed', () => {
    const sinkOn = async (path: string) =>
      new FileAuditSink({
        path,
        signer: await loadCheckpointSigner(keyFile),
        checkpointEveryRecords: 100,
        checkpointEveryMs: 60_000,
        maxFileBytes: 1 << 30,
      });

    it('fails a trail whose last chain is open, exit 1, and passes it once the chain is closed', async () => {
      const path = join(dir, 'var/closing.jsonl');
      // A run that crashes: started and written to, never stopped.
      const crashed = await sinkOn(path);
      await crashed.start();
      await crashed.append(auditRecord('decision', Date.now(), 'pep', { allow: true, tool: 'fs_read' }));
      const first = crashed.head().chain;
      const alone = await audit('verify', '--file', path);
      expect(alone.stdout).toMatch(/^ok: 2 records in 1 chain\(s\), 0 signed checkpoint\(s\) verified\n/);
      // Nothing says yet whether it is still being written or crashed.
      expect(alone.stdout).toContain(`\nopen: chain ${first} has no close record yet`);
      expect(alone.code).toBe(0);
      const strict = await audit('verify', '--file', path, '--closed');
      expect(strict.stderr).toContain(
        `BROKEN: chain ${first}, record 2: ` +
          'the chain ends without its close record, and no later chain recorded a crash',
      );
      expect(strict.stdout).toBe('');
      expect(strict.code).toBe(1);

      // The next run records the crash; while it runs, it is the open one.
      const next = await sinkOn(path);
      await next.start();
      await next.append(auditRecord('decision', Date.now(), 'pep', { allow: false, tool: 'fs_delete' }));
      const second = next.head().chain;
      const running = await audit('verify', '--file', path, '--closed');
      expect(running.stderr).toContain(`BROKEN: chain ${second}, record 2: the chain ends without its close record`);
      expect(running.code).toBe(1);
      const lenient = await audit('verify', '--file', path);
      expect(lenient.stdout).toContain(`\ncrashed: chain ${first} ended without its close record;`);
      expect(lenient.stdout).toContain(`\nopen: chain ${second} has no close record yet`);
      expect(lenient.code).toBe(0);

      await next.stop();
      const closed = await audit('verify', '--file', path, '--closed');
      expect(closed.stdout).toMatch(/^ok: 5 records in 2 chain\(s\), 1 signed checkpoint\(s\) verified\n/);
      expect(closed.stdout).toContain(`\ncrashed: chain ${first} ended without its close record;`);
      expect(closed.stdout).not.toMatch(/^open: /m);
      expect(closed.code).toBe(0);
    });
  });

  describe('keys', () => {
    it('exports the checkpoint key as a C2SP verifier key, which verifies the trail', async () => {
      const { code, stdout } = await audit('keys');
      expect(code).toBe(0);
      const seed = Buffer.from(JSON.parse(readFileSync(keyFile, 'utf8')).d, 'base64url');
      expect(stdout.trim()).toBe(formatVerifierKey(verifierOf(noteSigner('mcp-warden', seed))));
      const verified = await audit('verify', '--file', trail, '--keys', write('exported.vkeys', stdout));
      expect(verified.stdout).toMatch(/^ok: 5 records in 1 chain\(s\), 1 signed checkpoint\(s\) verified/);
      expect(verified.code).toBe(0);
    });

    it('refuses when there is no checkpoint key, and does not make one', async () => {
      const elsewhere = mkdtempSync(join(tmpdir(), 'mcp-warden-audit-cli-nokey-'));
      const { code, stdout, stderr } = await runCommand(['audit', 'keys'], elsewhere);
      expect(stderr).toMatch(/no checkpoint key at var\/keys\/audit-checkpoint\.jwk/);
      expect(stdout).toBe('');
      expect(code).toBe(2);
      expect(existsSync(join(elsewhere, 'var'))).toBe(false);
    });
  });

  describe('query', () => {
    it('filters by outcome, kind and relative or RFC 3339 times (an offset is compared as UTC)', async () => {
      expect(tools((await audit('query', '--file', trail, '--outcome', 'deny')).stdout)).toEqual(['fs_delete']);
      expect(tools((await audit('query', '--file', trail, '--outcome', 'allow')).stdout)).toEqual(['fs_read']);
      expect(tools((await audit('query', '--file', trail, '--kind', 'decision')).stdout)).toEqual([
        'fs_read',
        'fs_delete',
      ]);
      // The chain's start and close records were written now too.
      expect(tools((await audit('query', '--file', trail, '--since', '-1h')).stdout)).toEqual([
        'audit.chain_started',
        'fs_read',
        'fs_delete',
        'audit.chain_closed',
      ]);
      expect(tools((await audit('query', '--file', trail, '--until', '-7d')).stdout)).toEqual(['session.created']);
      // 12:30+01:00 is 11:30Z, before the record's 12:00Z; compared as text it would come after.
      const since = await audit('query', '--file', trail, '--since', '2020-01-01T12:30:00+01:00', '--until', '-1d');
      expect(tools(since.stdout)).toEqual(['session.created']);
      expect(since.code).toBe(0);
    });

    it.each([
      { note: 'an outcome in capitals', flags: ['--outcome', 'ALLOW'], want: /--outcome must be allow or deny/ },
      { note: 'an outcome misspelt', flags: ['--outcome', 'denied'], want: /--outcome must be allow or deny/ },
      {
        note: 'a kind in the plural',
        flags: ['--kind', 'decisions'],
        want: /--kind "decisions" is not an audit kind \(did you mean decision\?\): decision, session\.created/,
      },
      { note: 'a kind unknown', flags: ['--kind', 'login'], want: /--kind "login" is not an audit kind: decision,/ },
      {
        note: 'a time in words',
        flags: ['--since', 'yesterday'],
        want: /--since "yesterday" is not a time: give RFC 3339/,
      },
      { note: 'a time without offset', flags: ['--until', '2026-12-01T09:00:00'], want: /--until ".*" is not a time/ },
      { note: 'a month 13', flags: ['--until', '2026-13-01T09:00:00Z'], want: /--until ".*" is not a time/ },
      { note: 'a relative time forward', flags: ['--since', '+1h'], want: /--since "\+1h" is not a time/ },
      { note: 'a relative unit unknown', flags: ['--since', '-1y'], want: /--since "-1y" is not a time/ },
      {
        note: 'a limit not a number',
        flags: ['--limit', 'ten'],
        want: /--limit expects an integer from 1 to 1000, not "ten"/,
      },
    ])('refuses $note, exit 2, naming the flag', async ({ flags, want }) => {
      const { code, stdout, stderr } = await audit('query', '--file', trail, ...flags);
      expect(stderr).toMatch(want);
      expect(stdout).toBe('');
      expect(code).toBe(2);
    });

    it('fails on a missing trail, naming it, and does not create it', async () => {
      const { code, stderr } = await audit('query', '--file', 'var/nope.jsonl', '--outcome', 'deny');
      expect(stderr).toMatch(/the trail var\/nope\.jsonl is missing/);
      expect(code).toBe(1);
      expect(existsSync(join(dir, 'var/nope.jsonl'))).toBe(false);
    });
  });

  describe('access', () => {
    const accessTrail = join(dir, 'var/audit/access.jsonl');
    const server = 'https://mcp.example.com/files';
    beforeAll(async () => {
      const sink = new FileAuditSink({
        path: accessTrail,
        signer: await loadCheckpointSigner(keyFile),
        checkpointEveryRecords: 100,
        checkpointEveryMs: 60_000,
        maxFileBytes: 1 << 30,
      });
      await sink.start();
      const principal = (sub: string) => ({ iss: 'https://idp.example.com', sub, client_id: 'app-1' });
      const at = Date.now() - 10 * 60_000;
      await sink.append(
        auditRecord('session.created', at, 'pep', {
          server,
          session: 'a'.repeat(64),
          principal: principal('alice'),
          detail: { scope: ['fs_delete'], expires_at: new Date(at + 3_600_000).toISOString() },
        }),
      );
      await sink.append(
        auditRecord('decision', at + 1000, 'pep', {
          server,
          tool: 'fs_delete',
          allow: true,
          principal: principal('bob'),
        }),
      );
      await sink.stop();
    });

    it('answers who could call a tool in the last hour (JSON) and exports it (CSV)', async () => {
      const access = (...flags: string[]) =>
        audit('access', '--file', accessTrail, '--server', server, '--tool', 'fs_delete', ...flags);
      const json = await access();
      expect(json.code).toBe(0);
      const rows = JSON.parse(json.stdout).rows as { principal: { sub: string }; could: boolean; did: number }[];
      expect(rows.map((r) => [r.principal.sub, r.could, r.did])).toEqual([
        ['bob', true, 1],
        ['alice', true, 0],
      ]);
      const csv = await access('--format', 'csv');
      expect(csv.stdout.split('\n').filter((l) => l !== '')).toHaveLength(3);
      // A window before both: nobody.
      expect(JSON.parse((await access('--until', '-1h')).stdout).rows).toEqual([]);
    });

    it.each([
      { note: 'no server', flags: ['--tool', 'fs_delete'], want: /--server <url> is required/ },
      { note: 'no tool', flags: ['--server', server], want: /--tool <name> is required/ },
      {
        note: 'a format unknown',
        flags: ['--server', server, '--tool', 'x', '--format', 'xml'],
        want: /--format must be json or csv/,
      },
      {
        note: 'a window upside down',
        flags: ['--server', server, '--tool', 'x', '--since', '-1h', '--until', '-2h'],
        want: /--since must be before --until/,
      },
      {
        note: 'a time in words',
        flags: ['--server', server, '--tool', 'x', '--since', 'today'],
        want: /--since "today" is not a time/,
      },
    ])('refuses $note, exit 2, naming the flag', async ({ flags, want }) => {
      const { code, stdout, stderr } = await audit('access', '--file', accessTrail, ...flags);
      expect(stderr).toMatch(want);
      expect(stdout).toBe('');
      expect(code).toBe(2);
    });
  });

  /** The checkpoint key's public half, exported as an auditor would hold it. */
  async function exported(): Promise<string> {
    const { stdout } = await audit('keys');
    mkdirSync(join(dir, 'auditor'), { recursive: true });
    return write('auditor/audit.vkeys', stdout);
  }
});
