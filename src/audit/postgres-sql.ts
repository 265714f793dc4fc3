/**
 * The SQL of the PostgreSQL audit sink: its schema (idempotent: run at every start, or
 * once by `mcp-warden audit migrate` as the tables' owner), the grants of a service role
 * that may only append and read, and its one INSERT. Kept apart so a DBA can review it.
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

/** A PostgreSQL role name this project will put in a GRANT: a plain lower-case identifier. */
export const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The service role's rights on the trail, and nothing else: SELECT and INSERT on both
 * tables. Without ownership it can neither drop the append-only triggers nor alter,
 * delete or truncate a record. Run by the owner after `migration`.
 */
export function serviceGrants(table: string, checkpoints: string, role: string): string {
  if (!ROLE_NAME.test(role)) throw new TypeError(`role must match ${ROLE_NAME} (got ${JSON.stringify(role)})`);
  return `
    REVOKE ALL ON ${table}, ${checkpoints} FROM ${role};
    GRANT SELECT, INSERT ON ${table}, ${checkpoints} TO ${role};`;
}

/** What a sink that does not migrate checks at start: both tables are there and readable. */
export function schemaCheck(table: string, checkpoints: string): string {
  return `SELECT 1 FROM ${table} LIMIT 0; SELECT 1 FROM ${checkpoints} LIMIT 0;`;
}
