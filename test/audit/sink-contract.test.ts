import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { PostgresAuditSink } from '../../src/audit/postgres-sink.ts';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres.ts';
import { describeAuditSinkContract } from './sink-contract.ts';

describeAuditSinkContract('file', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mcp-warden-audit-')), 'audit.jsonl');
  return (options) => new FileAuditSink({ path, maxFileBytes: 64 * 1024 * 1024, ...options });
});

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgresServer();
});
afterAll(async () => {
  await postgres?.stop();
});

describeAuditSinkContract('postgres', async () => {
  // A fresh table is fresh, empty storage; every sink opened on it is another replica run.
  const table = `audit_${randomBytes(6).toString('hex')}`;
  return (options) => new PostgresAuditSink({ url: postgres.url, table, ...options });
});
