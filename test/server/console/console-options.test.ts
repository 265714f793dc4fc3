import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { consoleOptions } from '../../../src/service.ts';

// The console is off unless configured, and refuses to start where it could not work or
// would not be safe: an issuer the service does not trust, an audience it does not accept,
// an issuer reached in the clear, a secret it cannot read.
const ISSUER = 'https://idp.example.com';
const URL_ = 'https://warden.example.com/console';

function config(console: Record<string, unknown> | undefined, identity: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    overrides: {
      identity: { issuers: [{ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` }], ...identity },
      ...(console === undefined ? {} : { console }),
    },
  });
}
const signIn = { issuer: ISSUER, client_id: 'warden-console' };

describe('consoleOptions', () => {
  it('serves no console unless configured', () => {
    expect(consoleOptions(config(undefined))).toBeUndefined();
  });

  it('takes the console URL as the audience, and defaults the roles to none', () => {
    const options = consoleOptions(config({ url: URL_, sign_in: signIn }));
    expect(options).toMatchObject({ url: URL_, audience: URL_, sessionTtlSeconds: 3600 });
    expect(options?.roles).toEqual({ viewer: [], responder: [], approver: [] });
  });

  it('refuses an issuer that is not in identity.issuers', () => {
    const other = { ...signIn, issuer: 'https://other.example.com' };
    expect(() => consoleOptions(config({ url: URL_, sign_in: other }))).toThrow(/not in identity\.issuers/);
  });

  it('refuses an audience identity.servers does not accept', () => {
    const cfg = config({ url: URL_, sign_in: signIn }, { servers: ['https://mcp.example.com/files'] });
    expect(() => consoleOptions(cfg)).toThrow(
      /audience https:\/\/warden\.example\.com\/console is not in identity\.servers/,
    );
  });

  it('refuses an issuer reached in the clear, beyond loopback', () => {
    const clear = 'http://idp.example.com';
    const cfg = config(
      { url: URL_, sign_in: { ...signIn, issuer: clear } },
      { issuers: [{ issuer: clear, jwks_uri: 'https://idp.example.com/jwks' }] },
    );
    expect(() => consoleOptions(cfg)).toThrow(/console\.sign_in\.issuer/);
  });

  it('refuses a client secret file it cannot read, or an empty one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-console-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    for (const [file, want] of [
      [join(dir, 'missing'), /console\.sign_in\.client_secret_file: cannot read .*ENOENT/],
      [empty, /console\.sign_in\.client_secret_file: .* is empty/],
    ] as const) {
      const cfg = config({ url: URL_, sign_in: { ...signIn, client_secret_file: file } });
      expect(() => consoleOptions(cfg)).toThrow(want);
    }
  });

  it('refuses a malformed console config, naming the key', () => {
    expect(() => config({ url: 'ftp://x', sign_in: signIn })).toThrow(/console\.url/);
    expect(() => config({ url: URL_, sign_in: signIn, roles: { admin: ['x'] } })).toThrow(/console\.roles/);
    expect(() => config({ url: URL_, sign_in: signIn, session_ttl_seconds: 10 })).toThrow(
      /console\.session_ttl_seconds/,
    );
  });
});
