import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpointSigner } from '../../src/audit/checkpoint.ts';
import { PostgresAuditSink } from '../../src/audit/postgres-sink.ts';
import { verifyTrail } from '../../src/audit/verify.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createService } from '../../src/service.ts';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres.ts';

const SERVER = 'https://mcp.example.com/files';
const TABLE = 'mcp_warden_audit';
const SECRETS = ['hunter2', 'sk-live-123', 'patient 4711'];

/** The real service with the PostgreSQL sink, in dev mode (as test/helpers/service.ts builds it). */
describe('the service with the PostgreSQL audit sink', () => {
  let db: PostgresServer;
  let dir: string;
  let keyFile: string;
  let app: FastifyInstance | undefined;
  let token: string;

  beforeAll(async () => {
    db = await startPostgresServer();
    dir = mkdtempSync(join(tmpdir(), 'mcp-warden-pg-mask-'));
    keyFile = join(dir, 'checkpoint.json');
    const config = loadConfig({
      env: {},
      overrides: {
        server: { dev: true, dev_key_file: join(dir, 'dev-key.json') },
        audit: {
          sink: 'postgres',
          postgres: { url: db.url },
          checkpoint_key_file: keyFile,
          mask_pointers: ['/query/text'],
        },
      },
    });
    app = await createService(config);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/dev/token',
      payload: { sub: 'alice', roles: ['reader'], server: SERVER },
    });
    expect(res.statusCode).toBe(200);
    token = res.json().token as string;
  });
  afterAll(async () => {
    await app?.close();
    await db?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** One statement as the superuser, on its own connection. */
  async function sql<Row extends pg.QueryResultRow>(text: string): Promise<Row[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<Row>(text)).rows;
    } finally {
      await client.end();
    }
  }

  const decideBody = (args: Record<string, unknown>) => ({
    token,
    server: SERVER,
    mcp: { method: 'tools/call', params: { name: 'search_docs', arguments: args } },
  });

  const decideOnce = async (args: Record<string, unknown> = { query: { text: 'release notes', lang: 'en' } }) => {
    const res = await app!.inject({ method: 'POST', url: '/v1/decide', payload: decideBody(args) });
    expect(res.statusCode).toBe(200);
    return res.json() as { decision_id: string; allow: boolean; reasons: { code: string }[] };
  };

  it('masks secret-named arguments and configured pointers before they reach the table', async () => {
    const decision = await decideOnce({
      query: { text: 'patient 4711 diagnosis', lang: 'en' },
      auth: { password: 'hunter2', api_key: 'sk-live-123' },
    });
    expect(decision.allow).toBe(true);

    const records = await sql<{ record: string }>(`SELECT record::text AS record FROM ${TABLE}`);
    expect(records.length).toBeGreaterThan(0);
    // Every column of every row, and the checkpoints table, as PostgreSQL renders them.
    const dump = [
      ...(await sql<{ row: string }>(`SELECT t::text AS row FROM ${TABLE} t`)).map((r) => r.row),
      ...(await sql<{ row: string }>(`SELECT t::text AS row FROM ${TABLE}_checkpoints t`)).map((r) => r.row),
    ].join('\n');
    for (const text of [records.map((r) => r.record).join('\n'), dump]) {
      for (const secret of [...SECRETS, token, ...token.split('.')]) expect(text).not.toContain(secret);
    }

    const [row] = await sql<{ record: { allow: boolean; input: { arguments: unknown } } }>(
      `SELECT record FROM ${TABLE} WHERE record->>'decision_id' = '${decision.decision_id}'`,
    );
    expect(row?.record.allow).toBe(true);
    expect(row?.record.input.arguments).toEqual({
      query: { text: '[masked]', lang: 'en' },
      auth: { password: '[masked]', api_key: '[masked]' },
    });
  });

  it(
    'denies audit_unavailable while the database is down, and allows again once it is back, without a ' + 'restart',
    async () => {
      expect((await decideOnce()).allow).toBe(true);

      await db.halt();
      const denied = await decideOnce();
      expect(denied).toMatchObject({ allow: false, reasons: [{ code: 'audit_unavailable' }] });

      await db.restart();
      const allowed = await decideOnce();
      expect(allowed.allow).toBe(true);

      const ids = (await sql<{ id: string }>(`SELECT record->>'decision_id' AS id FROM ${TABLE}`)).map((r) => r.id);
      expect(ids).toContain(allowed.decision_id);
      // A decision whose record was refused was never answered allow, and left no row.
      expect(ids).not.toContain(denied.decision_id);

      // The outage left no gap: the chain, with the final checkpoint of app.close(), verifies.
      await app!.close();
      app = undefined;
      const reader = new PostgresAuditSink({
        url: db.url,
        signer: await loadCheckpointSigner(keyFile),
        checkpointEveryRecords: 1000,
        checkpointEveryMs: 3_600_000,
      });
      await reader.start();
      try {
        // Without the chain the reader itself started.
        const own = reader.head().chain;
        const trail = {
          async *records() {
            for await (const r of reader.records()) if (r.chain !== own) yield r;
          },
          checkpoints: () => reader.checkpoints(),
        };
        const verdict = await verifyTrail(trail, [(await loadCheckpointSigner(keyFile)).verifier]);
        // The rows counted above, and the close record app.close() wrote after them.
        expect(verdict).toMatchObject({ ok: true, records: ids.length + 1, chains: [{ state: 'closed' }] });
      } finally {
        await reader.stop();
      }
    },
  );
});
