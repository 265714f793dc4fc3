import { describe, expect, it } from 'vitest';
import { identityConfigSchema } from '../../src/config/identity.ts';

const JWKS = { keys: [{ kty: 'EC', kid: 'k' }] };

/** The problems zod reports, as `path: message` lines. */
function problems(identity: unknown): string[] {
  const result = identityConfigSchema.safeParse(identity);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('identity config: what each issuer is trusted for', () => {
  it('one issuer may leave roles, scopes and servers out (any), and defaults require_typ to at+jwt', () => {
    const config = identityConfigSchema.parse({ issuers: [{ issuer: 'https://idp', jwks: JWKS }] });
    expect(config.issuers[0]).toMatchObject({ require_typ: 'at+jwt' });
    expect(config.issuers[0]?.roles).toBeUndefined();
  });

  it('with several issuers, each must state its roles and scopes, naming the field', () => {
    const text = problems({
      issuers: [
        { issuer: 'https://idp', jwks: JWKS, roles: ['*'], scopes: ['*'] },
        { issuer: 'https://partner', jwks: JWKS },
      ],
    }).join('\n');
    expect(text).toMatch(/^issuers\.1\.roles: required when several issuers are configured/m);
    expect(text).toMatch(/^issuers\.1\.scopes: required when several issuers are configured/m);
    expect(text).not.toMatch(/issuers\.0/);
  });

  it('an issuer may only name servers of identity.servers, and "*" stands alone', () => {
    const text = problems({
      servers: ['https://mcp.example.com/a'],
      issuers: [{ issuer: 'https://idp', jwks: JWKS, servers: ['https://mcp.example.com/b'], roles: ['*', 'admin'] }],
    }).join('\n');
    expect(text).toMatch(/issuers\.0\.servers: not in identity\.servers: https:\/\/mcp\.example\.com\/b/);
    expect(text).toMatch(/issuers\.0\.roles: "\*" \(anything\) stands alone/);
  });

  it('require_typ null opts out of the typ check', () => {
    const config = identityConfigSchema.parse({ issuers: [{ issuer: 'https://idp', jwks: JWKS, require_typ: null }] });
    expect(config.issuers[0]?.require_typ).toBeNull();
  });
});

describe('identity config: keys are fetched over https, or http on loopback only', () => {
  it('refuses a jwks_uri over http to a host beyond loopback, naming the field', () => {
    for (const uri of ['http://idp.example.com/jwks', 'http://127.0.0.1.nip.io/jwks', 'http://10.0.0.1/jwks']) {
      expect(problems({ issuers: [{ issuer: 'https://idp', jwks_uri: uri }] }), uri).toEqual([
        'issuers.0.jwks_uri: must be https: (http: only for a loopback host: localhost, 127.0.0.0/8, [::1])',
      ]);
    }
    const domain = problems({
      spiffe: { trust_domains: [{ trust_domain: 'example.org', jwks_uri: 'http://spire/keys' }] },
    });
    expect(domain.join('\n')).toMatch(/^spiffe\.trust_domains\.0\.jwks_uri: must be https:/);
  });

  it('accepts https anywhere and http on loopback', () => {
    for (const uri of [
      'https://idp.example.com/jwks',
      'http://127.0.0.1:8080/jwks',
      'http://localhost/jwks',
      'http://[::1]:9/k',
    ]) {
      expect(problems({ issuers: [{ issuer: 'https://idp', jwks_uri: uri }] }), uri).toEqual([]);
    }
  });

  it('refuses discovery from an http issuer beyond loopback, naming the issuer', () => {
    expect(problems({ issuers: [{ issuer: 'http://idp.example.com', discovery: true }] })).toEqual([
      expect.stringMatching(
        /^issuers\.0\.issuer: with discovery, the issuer URL must be https: \(http: only for a loopback/,
      ),
    ]);
    expect(problems({ issuers: [{ issuer: 'http://127.0.0.1:4444', discovery: true }] })).toEqual([]);
  });
});
