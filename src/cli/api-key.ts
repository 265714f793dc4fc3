import { createHash, randomBytes } from 'node:crypto';
import { parseFlags, UsageError } from './args.ts';

const ROLES = ['pep', 'admin', 'metrics'];

/** `mcp-warden api-key`: a new key for a caller, printed with the config entry that holds its hash. */
export function apiKeyCommand(args: string[]): number {
  const values = parseFlags(args, { id: { type: 'string' }, role: { type: 'string', default: 'pep' } });
  if (!values.id) throw new UsageError('--id <caller id> is required');
  if (!ROLES.includes(values.role)) {
    throw new UsageError(`--role expects pep, admin or metrics, not ${JSON.stringify(values.role)}`);
  }
  const key = `mwk_${randomBytes(32).toString('base64url')}`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  console.log(`key (give it to the caller; it is not stored):\n  ${key}\n`);
  console.log(`config entry (callers.api_keys):\n  ${JSON.stringify({ id: values.id, sha256, role: values.role })}`);
  return 0;
}
