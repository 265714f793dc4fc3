import type { Config } from '../config/schema.ts';
import type { PolicyStatus } from '../policy/reloader.ts';
import { consoleUrl } from '../config/own-url.ts';

/**
 * What `serve` prints once it listens, so a first run shows what it is serving and what to
 * do next: the URL, the policy revision and signer, the issuers (a warning at none, since
 * every decision is then denied `issuer_untrusted`), the session store and the audit sink.
 */
export function startupBanner(config: Config, address: string, policy: PolicyStatus): string[] {
  const { identity, session, audit, server } = config;
  const issuers = identity.issuers.length + identity.spiffe.trust_domains.length;
  const signer = policy.signer === null ? 'unsigned' : `signed by ${policy.signer}`;
  const lines = [
    'mcp-warden is ready',
    `  url       ${address}`,
    `  policy    revision ${policy.revision ?? '(none)'}, ${signer} (${config.policy.bundle})`,
    `  identity  ${issuers} issuer(s) and trust domain(s)${server.dev ? ', and the dev issuer' : ''}`,
    `  sessions  ${session.store}`,
    `  audit     ${audit.sink === 'file' ? `file ${audit.file}` : 'postgres'}`,
  ];
  const consoleAt = consoleUrl(config);
  if (consoleAt !== null) {
    const how = config.console?.sign_in === undefined ? 'sign in with an admin API key' : 'sign in at the issuer';
    lines.push(`  console   ${consoleAt} (${how})`);
  }
  if (issuers === 0 && !server.dev) {
    lines.push(
      '  warning   no token issuer is configured (identity.issuers): every decision will be denied issuer_untrusted',
    );
  }
  if (server.dev) {
    lines.push(`  next      TOKEN=$(npm run -s warden -- dev-token --url ${address} --sub alice --role reader)`);
  }
  return lines;
}
