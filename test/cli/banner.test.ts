import { describe, expect, it } from 'vitest';
import { startupBanner } from '../../src/cli/banner.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { PolicyStatus } from '../../src/policy/reloader.ts';

const policy: PolicyStatus = {
  status: 'OK',
  revision: '20261202T120000Z-abc',
  signer: null,
  last_activation: null,
  last_error: null,
};
const ISSUER = { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks' };

describe('the start-up banner', () => {
  it('names the URL, the policy revision and signer, the identity, the session store and the audit sink', () => {
    const config = loadConfig({ env: {}, overrides: { identity: { issuers: [ISSUER] } } });
    const text = startupBanner(config, 'http://127.0.0.1:8181', { ...policy, signer: 'ops-2026' }).join('\n');
    expect(text).toContain('http://127.0.0.1:8181');
    expect(text).toContain('revision 20261202T120000Z-abc, signed by ops-2026');
    expect(text).toContain('1 issuer(s)');
    expect(text).toContain('sessions  memory');
    expect(text).toContain('audit     file var/audit/audit.jsonl');
    expect(text).not.toContain('warning');
    expect(text).not.toContain('console');
  });

  it('warns when no issuer is configured outside dev mode: every decision would be denied', () => {
    const text = startupBanner(loadConfig({ env: {} }), 'http://127.0.0.1:8181', policy).join('\n');
    expect(text).toMatch(/warning +no token issuer is configured \(identity\.issuers\).*issuer_untrusted/);
  });

  it('in dev mode, shows the dev-token command to run next, for this URL', () => {
    const config = loadConfig({ env: {}, overrides: { server: { dev: true } } });
    const text = startupBanner(config, 'http://127.0.0.1:9999', policy).join('\n');
    expect(text).toContain('dev-token --url http://127.0.0.1:9999 --sub alice --role reader');
    expect(text).toContain('console   http://127.0.0.1:8181/console (sign in with an admin API key)');
    expect(text).not.toContain('warning');
  });
});
