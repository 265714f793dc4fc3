/**
 * The SQL of the PostgreSQL audit sink: its schema (run at every start, idempotent) and
 * its one INSERT. Kept apart so the schema can be read, reviewed and run by a DBA.
 */

/** The columns a query may filter on, each indexed with `ts`. */
export const FILTERS = ['session', 'subject', 'client_id', 'tool', 'server', 'kind', 'allow'] as const;

/** One statement text whatever the batch size: arrays, not one placeholder per value (PostgreSQL allows 65 535). */
export const INSERT = (table: string): string =>
  `INSERT INTO ${table} (chain, seq, ts, kind, session, subject, client_id, server, tool, allow, record, hash) ` +
  'SELECT $1, u.seq, u.ts, u.kind, u.session, u.subject, u.client_id, u.server, u.tool, u.allow, ' +
  'u.record::jsonb, u.hash ' +
  'FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], ' +
  '$9::text[], $10::boolean[], $11::text[], $12::text[]) ' +
  'AS u(seq, ts, kind, session, subject, client_id, server, tool, allow, record, hash)';

/** Tables, indexes and the append-only guard; safe to run again and by several replicas at once. */
export function migration(table: string, checkpoints: string): string {
  const guard = `${table}_append_only`;
  const trigger = (on: string, name: string, when: string) => {
    const each = when === 'TRUNCATE' ? 'FOR EACH STATEMENT' : 'FOR EACH ROW';
    return `
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '${on}'::regclass AND tgname = '${name}') THEN
      CREATE TRIGGER ${name} BEFORE ${when} ON ${on} ${each} EXECUTE FUNCTION ${guard}();
    END IF;`;
  };
  return `
    SELECT pg_advisory_xact_lock(hashtext('mcp-warden:${table}'));
    CREATE TABLE IF NOT EXISTS ${table} (
      chain text NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL, kind text NOT NULL,
      session text, subject text, client_id text, server text, tool text, allow boolean,
      record jsonb NOT NULL, hash text NOT NULL, PRIMARY KEY (chain, seq));
    CREATE INDEX IF NOT EXISTS ${table}_ts ON ${table} (ts, chain, seq);
    ${FILTERS.map((f) => `CREATE INDEX IF NOT EXISTS ${table}_${f} ON ${table} (${f}, ts);`).join('\n    ')}
    CREATE TABLE IF NOT EXISTS ${checkpoints} (
      chain text NOT NULL, seq bigint NOT NULL, note text NOT NULL, PRIMARY KEY (chain, seq));
    CREATE OR REPLACE FUNCTION ${guard}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    DO $$ BEGIN
      ${trigger(table, 'append_only_row', 'UPDATE OR DELETE')}
      ${trigger(table, 'append_only_truncate', 'TRUNCATE')}
      ${trigger(checkpoints, 'append_only_row', 'UPDATE OR DELETE')}
      ${trigger(checkpoints, 'append_only_truncate', 'TRUNCATE')}
    END $$;
    REVOKE UPDATE, DELETE, TRUNCATE ON ${table}, ${checkpoints} FROM PUBLIC;`;
}
