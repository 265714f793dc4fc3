import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { PostgresAuditSink } from '../../src/audit/postgres-sink.ts';
import { migration, serviceGrants } from '../../src/audit/postgres-sql.ts';
import { runSql, startPostgresServer, type PostgresServer, urlAs } from '../helpers/postgres.ts';
import { describeAuditSinkContract } from './sink-contract.ts';

describeAuditSinkContract('file', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mcp-warden-audit-')), 'audit.jsonl');
  return (options) => new FileAuditSink({ path, maxFileBytes: 64 * 1024 * 1024, ...options });
});

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgresServer();
  await runSql(postgres.url, 'CREATE ROLE warden_contract LOGIN');
});
afterAll(async () => {
  await postgres?.stop();
});

// As in production (docs/audit.md, PostgreSQL roles): the tables are made and owned by
// another role (`audit migrate`), and the sink's role may only SELECT and INSERT.
describeAuditSinkContract('postgres', async () => {
  // A fresh table is fresh, empty storage; every sink opened on it is another replica run.
  const table = `audit_${randomBytes(6).toString('hex')}`;
  const checkpoints = `${table}_checkpoints`;
  await runSql(
    postgres.url,
    `${migration(table, checkpoints)}\n${serviceGrants(table, checkpoints, 'warden_contract')}`,
  );
  const url = urlAs(postgres, 'warden_contract');
  return (options) => new PostgresAuditSink({ url, table, migrate: false, ...options });
});
