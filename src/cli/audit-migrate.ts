import { auditPool } from '../audit/postgres-trail.ts';
import { migration, ROLE_NAME, serviceGrants } from '../audit/postgres-sql.ts';
import type { Config } from '../config/schema.ts';
import { UsageError } from './args.ts';
import { Refused } from './refused.ts';

/** The flags of `audit migrate`. */
export const MIGRATE_OPTIONS = {
  'owner-url': { type: 'string' },
  grant: { type: 'string' },
} as const;

/**
 * `mcp-warden audit migrate --owner-url <url> --grant <service role>`: creates or updates
 * the PostgreSQL trail's schema as the role of `--owner-url`, which owns the tables, and
 * gives the service's role SELECT and INSERT on them only. The service then runs with
 * `audit.postgres.migrate: false` and a URL of that role: it can append and read, never
 * drop the append-only triggers, alter, delete or truncate.
 */
export async function auditMigrateCommand(
  config: Config,
  flags: { readonly 'owner-url'?: string | undefined; readonly grant?: string | undefined },
): Promise<number> {
  if (config.audit.sink !== 'postgres') throw new UsageError('migrate needs audit.sink: postgres in --config');
  const ownerUrl = flags['owner-url'];
  const role = flags.grant;
  if (ownerUrl === undefined || role === undefined) {
    throw new UsageError('migrate needs --owner-url <url of the owning role> and --grant <service role>');
  }
  if (!ROLE_NAME.test(role)) throw new UsageError(`--grant must be a plain role name matching ${ROLE_NAME}`);
  const { table } = config.audit.postgres;
  const checkpoints = `${table}_checkpoints`;
  const pool = auditPool(ownerUrl, 30_000);
  try {
    await pool.query(`${migration(table, checkpoints)}\n${serviceGrants(table, checkpoints, role)}`);
  } catch (err) {
    throw new Refused(1, `audit: the migration failed: ${(err as Error).message}`);
  } finally {
    await pool.end();
  }
  console.log(`migrated ${table} and ${checkpoints}; ${role} may SELECT and INSERT only`);
  return 0;
}
