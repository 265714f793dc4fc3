import { accessCsv, accessReport, accessWindow } from '../audit/access.ts';
import type { Config } from '../config/schema.ts';
import { UsageError } from './args.ts';
import { timeFlag } from './audit-query-flags.ts';
import { withTrail } from './audit-trail.ts';

/** The flags of `audit access`, as parsed. */
export interface AccessFlags {
  readonly server?: string | undefined;
  readonly tool?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly format?: string | undefined;
}

/**
 * `mcp-warden audit access --server <url> --tool <name> [--since] [--until] [--format json|csv]`:
 * who could call the tool in the window (default: the last hour) and who did, the report
 * the console and `GET /v1/audit/access` give; JSON or CSV on stdout.
 */
export async function auditAccessCommand(config: Config, flags: AccessFlags): Promise<number> {
  const now = Date.now();
  if (flags.server === undefined || flags.server === '') throw new UsageError('access: --server <url> is required');
  if (flags.tool === undefined || flags.tool === '') throw new UsageError('access: --tool <name> is required');
  const format = flags.format ?? 'json';
  if (format !== 'json' && format !== 'csv') {
    throw new UsageError(`--format must be json or csv, not ${JSON.stringify(format)}`);
  }
  const window = accessWindow(
    flags.since === undefined ? undefined : timeFlag('--since', flags.since, now),
    flags.until === undefined ? undefined : timeFlag('--until', flags.until, now),
    now,
  );
  if (window.since >= window.until) throw new UsageError('access: --since must be before --until');
  const report = await withTrail(config, (trail) =>
    accessReport(trail, { server: flags.server as string, tool: flags.tool as string, ...window }),
  );
  process.stdout.write(format === 'csv' ? accessCsv(report) : `${JSON.stringify(report, null, 2)}\n`);
  if (report.truncated) console.error('audit: the trail was read only in part (its limit): narrow the window');
  return 0;
}
