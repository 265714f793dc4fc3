import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issuerConfigSchema } from '../../src/config/identity.ts';
import { createKeySource } from '../../src/identity/key-source.ts';
import { readJwksFile } from '../../src/keys/jwks-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-jwks-file-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('readJwksFile names the config key and the file in every failure', () => {
  const cases = [
    {
      note: 'a missing file',
      path: join(dir, 'nope.json'),
      want: /^policy\.signing\.jwks_file: cannot read '.*nope\.json': no such file$/,
    },
    { note: 'a file that is not JSON', path: file('text.json', 'keys: []'), want: /'.*text\.json' is not JSON/ },
    { note: 'JSON that is not a JWKS', path: file('bare.json', '[{"kty":"EC"}]'), want: /is not a JWKS/ },
    { note: 'a JWKS without keys', path: file('empty.json', '{"keys":[]}'), want: /is not a JWKS/ },
  ];
  for (const c of cases) {
    it(c.note, () => {
      expect(() => readJwksFile(c.path, 'policy.signing.jwks_file')).toThrow(c.want);
    });
  }

  it('a JWKS file is read as it is', () => {
    const jwks = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k1' }] };
    expect(readJwksFile(file('good.json', JSON.stringify(jwks)), 'k')).toEqual(jwks);
  });

  it("an issuer's missing jwks_file names the issuer in the key", () => {
    const config = issuerConfigSchema.parse({ issuer: 'https://idp.example', jwks_file: join(dir, 'gone.json') });
    expect(() => createKeySource(config)).toThrow(
      /^identity\.issuers\[https:\/\/idp\.example\]\.jwks_file: cannot read '.*gone\.json': no such file$/,
    );
  });
});
