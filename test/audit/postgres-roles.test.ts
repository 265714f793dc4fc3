import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { PostgresAuditSink } from '../../src/audit/postgres-sink.ts';
import { PostgresTrail, auditPool } from '../../src/audit/postgres-trail.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { runCommand } from '../helpers/cli.ts';
import { runSql, startPostgresServer, type PostgresServer, urlAs } from '../helpers/postgres.ts';

// The trail's tables are owned by one role; the service connects as another that may only
// SELECT and INSERT. It appends and verifies, and cannot undo the append-only guard.
const TABLE = 'roles_audit';
let postgres: PostgresServer;
let dir: string;
const as = (role: string) => urlAs(postgres, role);

beforeAll(async () => {
  postgres = await startPostgresServer();
  dir = mkdtempSync(join(tmpdir(), 'mcp-warden-pg-roles-'));
  await runSql(
    postgres.url,
    'CREATE ROLE warden_owner LOGIN; CREATE ROLE warden_service LOGIN; GRANT CREATE ON SCHEMA public TO warden_owner',
  );
});
afterAll(async () => {
  await postgres?.stop();
});

describe('PostgreSQL: the table owned by another role, the service with INSERT and SELECT only', () => {
  it('audit migrate makes the schema as the owner and grants the service role only what it needs', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        audit: { sink: 'postgres', postgres: { url: as('warden_service'), table: TABLE, migrate: false } },
      }),
    );
    const run = await runCommand(
      ['audit', 'migrate', '--config', config, '--owner-url', as('warden_owner'), '--grant', 'warden_service'],
      dir,
    );
    expect(run.stdout).toMatch(/warden_service may SELECT and INSERT only/);
    expect(run.code).toBe(0);
    // Again: it is idempotent.
    const again = await runCommand(
      ['audit', 'migrate', '--config', config, '--owner-url', as('warden_owner'), '--grant', 'warden_service'],
      dir,
    );
    expect(again.code).toBe(0);
  });

  it('the service role appends and reads; the trail verifies', async () => {
    const signer = await loadCheckpointSigner(join(dir, 'key.jwk'));
    const options = {
      url: as('warden_service'),
      table: TABLE,
      signer,
      checkpointEveryRecords: 10,
      checkpointEveryMs: 60_000,
    };
    const sink = new PostgresAuditSink({ ...options, migrate: false });
    await sink.start();
    for (let i = 0; i < 5; i += 1)
      await sink.append(auditRecord('decision', Date.now(), 'pep', { decision_id: `d${i}` }));
    await sink.stop();
    const pool = auditPool(as('warden_service'), 5000);
    try {
      const verdict = await verifyTrail(new PostgresTrail(() => pool, TABLE), [signer.verifier]);
      expect(verdict).toMatchObject({ ok: true, records: 7, chains: [{ state: 'closed', unsigned: 0 }] });
    } finally {
      await pool.end();
    }
    // Migrating at start needs ownership: the service role's sink says so and does not start.
    const migrating = new PostgresAuditSink({ ...options, migrate: true });
    await expect(migrating.start()).rejects.toMatchObject({ code: 'audit_unavailable' });
  });

  const attacks = [
    ['drop the append-only trigger', `DROP TRIGGER append_only_row ON ${TABLE}`],
    ['disable the triggers', `ALTER TABLE ${TABLE} DISABLE TRIGGER ALL`],
    ['delete a record', `DELETE FROM ${TABLE}`],
    ['rewrite a record', `UPDATE ${TABLE} SET allow = false`],
    ['truncate the trail', `TRUNCATE ${TABLE}`],
    ['delete the checkpoints', `DELETE FROM ${TABLE}_checkpoints`],
    ['drop the table', `DROP TABLE ${TABLE}`],
    [
      'replace the guard function',
      `CREATE OR REPLACE FUNCTION ${TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql ` +
        'AS $$ BEGIN RETURN OLD; END $$',
    ],
  ] as const;
  for (const [note, statement] of attacks) {
    it(`the service role cannot ${note}`, async () => {
      await expect(runSql(as('warden_service'), statement)).rejects.toThrow(/must be owner|permission denied/);
    });
  }

  it('even the owner cannot delete or rewrite a record while the guard stands', async () => {
    await expect(runSql(as('warden_owner'), `DELETE FROM ${TABLE}`)).rejects.toThrow(/append-only/);
    await expect(runSql(as('warden_owner'), `UPDATE ${TABLE} SET allow = true`)).rejects.toThrow(/append-only/);
  });
});
