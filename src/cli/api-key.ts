import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

/** `mcp-warden api-key`: a new key for a caller, printed with the config entry that holds its hash. */
export function apiKeyCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { id: { type: 'string' }, role: { type: 'string', default: 'pep' } },
    strict: true,
  });
  if (!values.id || !['pep', 'admin', 'metrics'].includes(values.role)) {
    console.error('api-key: --id <caller id> and --role pep|admin|metrics are required');
    return 2;
  }
  const key = `mwk_${randomBytes(32).toString('base64url')}`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  console.log(`key (give it to the caller; it is not stored):\n  ${key}\n`);
  console.log(`config entry (callers.api_keys):\n  ${JSON.stringify({ id: values.id, sha256, role: values.role })}`);
  return 0;
}
