import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleInvalid } from '../../src/errors.ts';
import { parseBundle } from '../../src/policy/bundle.ts';
import { isSigned, opaCanonicalJson, verifyBundleSignature, type BundleTrust } from '../../src/policy/signature.ts';
import { FIXTURE_POLICIES, OPA } from '../helpers/paths.ts';
import { packBundle } from './repack.ts';

const MAX = 64 << 20;
const CLOCK = `${FIXTURE_POLICIES}/clock`;
const ENTRYPOINTS = ['-e', 'mcp/authz/decision', '-e', 'mcp/session/grant'];

/** Data that tells OPA's canonical form apart from JSON.stringify and from RFC 8785. */
const TRICKY_DATA = String.raw`{"z": 1.0, "a": 1e2, "big": 12345678901234567890, "neg": -0, "html": "<&>",
 "seps": "\u2028\u2029", "ctl": "\u0001\b\f\t", "é": true, "\ue000": 1, "😀": 2,
 "nested": {"b": [1.50, null, false], "a": {}}}`;

let dir: string;
let trickyDir: string;
interface Signer {
  readonly pem: string;
  readonly pub: string;
  readonly jwk: JWK;
}
const signers: Record<string, Signer> = {};
let rsaBundle: Buffer;
let ecBundle: Buffer;
let trickyBundle: Buffer;

function makeSigner(name: string, kid: string, pair: { privateKey: KeyObject; publicKey: KeyObject }): Signer {
  const pem = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  writeFileSync(pem, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(pub, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { pem, pub, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid } };
}

let builds = 0;
/** `opa build -b . -t wasm` in `cwd` (paths in the bundle are then relative), with extra flags. */
function opaBuild(cwd: string, flags: string[]): Buffer {
  const out = join(dir, `build-${builds++}.tar.gz`);
  execFileSync(OPA, ['build', '-b', '.', '-t', 'wasm', ...ENTRYPOINTS, '-o', out, ...flags], { cwd, stdio: 'pipe' });
  return readGz(out);
}

function readGz(path: string): Buffer {
  return readFileSync(path);
}

/** Whether `opa build` itself accepts the bundle's signature: the reference to agree with. */
function opaAccepts(gz: Buffer, signer: Signer, kid: string, alg = 'RS256'): boolean {
  const input = join(dir, `check-${builds++}.tar.gz`);
  writeFileSync(input, gz);
  const args = ['build', '-b', input, '--verification-key', signer.pub, '--verification-key-id', kid];
  const result = spawnSync(OPA, [...args, '--signing-alg', alg, '-o', join(dir, `checked-${builds++}.tar.gz`)]);
  return result.status === 0;
}

/** Unpacks, applies `change` to the file map, and packs again. */
async function tamper(gz: Buffer, change: (files: Map<string, Buffer>) => void): Promise<Buffer> {
  const files = new Map((await parseBundle(gz, MAX)).files);
  change(files);
  return packBundle(files);
}

async function verify(gz: Buffer, trust: BundleTrust, scope?: string) {
  const { files } = await parseBundle(gz, MAX);
  return verifyBundleSignature(files, trust, scope === undefined ? {} : { scope });
}

function trustOf(...names: string[]): BundleTrust {
  return { keys: { keys: names.map((n) => (signers[n] as Signer).jwk) } };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-sig-'));
  signers.rsa = makeSigner('rsa', 'rsa-2026', generateKeyPairSync('rsa', { modulusLength: 2048 }));
  signers.ec = makeSigner('ec', 'ec-2026', generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  signers.other = makeSigner('other', 'rsa-2026', generateKeyPairSync('rsa', { modulusLength: 2048 }));
  trickyDir = join(dir, 'tricky');
  cpSync(CLOCK, trickyDir, { recursive: true });
  writeFileSync(join(trickyDir, 'data.json'), TRICKY_DATA);

  const rsa = signers.rsa as Signer;
  rsaBundle = opaBuild(CLOCK, [
    '--signing-key',
    rsa.pem,
    '--signing-alg',
    'RS256',
    '--verification-key-id',
    'rsa-2026',
  ]);
  const ec = signers.ec as Signer;
  ecBundle = opaBuild(CLOCK, ['--signing-key', ec.pem, '--signing-alg', 'ES256', '--verification-key-id', 'ec-2026']);
  trickyBundle = opaBuild(trickyDir, ['--signing-key', rsa.pem, '--verification-key-id', 'rsa-2026']);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('verifyBundleSignature with bundles signed by opa build', () => {
  it('accepts an RS256 bundle as opa built it, naming the signer', async () => {
    expect(isSigned((await parseBundle(rsaBundle, MAX)).files)).toBe(true);
    await expect(verify(rsaBundle, trustOf('rsa'))).resolves.toEqual({ signer: 'rsa-2026' });
  });

  it('accepts an ES256 bundle', async () => {
    await expect(verify(ecBundle, trustOf('ec'))).resolves.toEqual({ signer: 'ec-2026' });
  });

  it('rotates: one key set with both kids accepts bundles from either key', async () => {
    const trust = trustOf('rsa', 'ec');
    await expect(verify(rsaBundle, trust)).resolves.toEqual({ signer: 'rsa-2026' });
    await expect(verify(ecBundle, trust)).resolves.toEqual({ signer: 'ec-2026' });
  });

  it('finds the key by the keyid claim when the header has no kid (--claims-file), and checks scope', async () => {
    const claims = join(dir, 'claims.json');
    writeFileSync(claims, JSON.stringify({ keyid: 'rsa-2026', scope: 'prod' }));
    const gz = opaBuild(CLOCK, ['--signing-key', (signers.rsa as Signer).pem, '--claims-file', claims]);
    await expect(verify(gz, trustOf('rsa'), 'prod')).resolves.toEqual({ signer: 'rsa-2026' });
    await expect(verify(gz, trustOf('rsa'))).rejects.toThrow(/scope "prod" is not the expected ""/);
    await expect(verify(rsaBundle, trustOf('rsa'), 'prod')).rejects.toThrow(/scope "" is not the expected "prod"/);
  });

  it('accepts HS256 only for a kid configured with a secret', async () => {
    const gz = opaBuild(CLOCK, [
      '--signing-key',
      's3cret-s3cret',
      '--signing-alg',
      'HS256',
      '--verification-key-id',
      'hmac-1',
    ]);
    await expect(verify(gz, { keys: { keys: [] }, secrets: { 'hmac-1': 's3cret-s3cret' } })).resolves.toEqual({
      signer: 'hmac-1',
    });
    await expect(verify(gz, { keys: { keys: [] }, secrets: { 'hmac-1': 'wrong' } })).rejects.toThrow(
      'bundle signature does not verify with key hmac-1',
    );
    await expect(verify(gz, trustOf('rsa'))).rejects.toThrow('bundle is signed with unknown key hmac-1');
  });

  it('refuses an RS256 token presented under an HMAC kid, and HMAC under a public key', async () => {
    await expect(verify(rsaBundle, { keys: { keys: [] }, secrets: { 'rsa-2026': 'x' } })).rejects.toThrow(
      'bundle signature algorithm RS256 is not allowed for key rsa-2026',
    );
  });
});

describe('verifyBundleSignature refuses', () => {
  const cases: {
    note: string;
    make: () => Promise<Buffer>;
    trust?: () => BundleTrust;
    want: string;
    code?: string;
    opa?: boolean;
  }[] = [
    {
      note: 'one byte of data.json changed',
      make: () =>
        tamper(trickyBundle, (f) =>
          f.set('data.json', Buffer.from((f.get('data.json') as Buffer).toString().replace('1e2', '1e3'))),
        ),
      want: 'bundle file data.json does not match its signed SHA-256 hash',
    },
    {
      note: 'a .rego changed',
      make: () =>
        tamper(rsaBundle, (f) =>
          f.set('policy.rego', Buffer.concat([f.get('policy.rego') as Buffer, Buffer.from('\n')])),
        ),
      want: 'bundle file policy.rego does not match its signed SHA-256 hash',
    },
    {
      note: 'the wasm changed',
      make: () =>
        tamper(rsaBundle, (f) => {
          const wasm = Buffer.from(f.get('policy.wasm') as Buffer);
          wasm.writeUInt8((wasm.at(-1) as number) ^ 1, wasm.length - 1);
          f.set('policy.wasm', wasm);
        }),
      want: 'bundle file policy.wasm does not match its signed SHA-256 hash',
    },
    {
      note: 'an extra file added',
      make: () => tamper(rsaBundle, (f) => f.set('extra/data.json', Buffer.from('{"x":1}'))),
      want: 'bundle file extra/data.json is not covered by the signature',
    },
    {
      note: 'a listed file removed',
      make: () => tamper(rsaBundle, (f) => f.delete('grant.rego')),
      want: 'bundle file grant.rego signed but missing',
    },
    {
      note: 'a signature by another key under the trusted kid',
      make: async () =>
        opaBuild(CLOCK, ['--signing-key', (signers.other as Signer).pem, '--verification-key-id', 'rsa-2026']),
      want: 'bundle signature does not verify with key rsa-2026',
    },
    {
      note: 'a signature file swapped in from another bundle',
      make: async () => {
        const theirs = (await parseBundle(trickyBundle, MAX)).files.get('.signatures.json') as Buffer;
        return tamper(rsaBundle, (f) => f.set('.signatures.json', theirs));
      },
      want: 'bundle file data.json does not match its signed SHA-256 hash',
    },
    {
      note: 'an unknown kid',
      make: async () => ecBundle,
      want: 'bundle is signed with unknown key ec-2026',
      opa: false,
    },
    {
      note: 'an unsigned bundle',
      make: async () => opaBuild(CLOCK, []),
      want: 'bundle is not signed: it has no .signatures.json',
      code: 'bundle_unsigned',
      opa: false,
    },
    {
      note: 'two signatures',
      make: () =>
        tamper(rsaBundle, (f) => {
          const { signatures } = JSON.parse((f.get('.signatures.json') as Buffer).toString()) as {
            signatures: string[];
          };
          f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [signatures[0], signatures[0]] })));
        }),
      want: 'bundle file .signatures.json holds 2 signatures; exactly one is supported',
    },
    {
      note: 'a signature that is not a JWS',
      make: () => tamper(rsaBundle, (f) => f.set('.signatures.json', Buffer.from('{"signatures":["not-a-jws"]}'))),
      want: 'bundle signature is not a compact JWS with a JSON payload',
    },
    {
      note: 'a payload changed under the same signature',
      make: () =>
        tamper(rsaBundle, (f) => {
          const { signatures } = JSON.parse((f.get('.signatures.json') as Buffer).toString()) as {
            signatures: string[];
          };
          const [h, p, s] = (signatures[0] as string).split('.');
          const payload = JSON.parse(Buffer.from(p as string, 'base64url').toString()) as { files: unknown[] };
          payload.files.pop();
          const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
          f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [forged] })));
        }),
      want: 'bundle signature does not verify with key rsa-2026',
    },
  ];
  for (const c of cases) {
    it(`${c.note}, as opa does`, async () => {
      const gz = await c.make();
      const trust = c.trust?.() ?? trustOf('rsa');
      const err = await verify(gz, trust).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BundleInvalid);
      expect((err as BundleInvalid).code).toBe(c.code ?? 'bundle_invalid');
      expect((err as BundleInvalid).message).toBe(c.want);
      if (c.opa !== false) expect(opaAccepts(gz, signers.rsa as Signer, 'rsa-2026')).toBe(false);
    });
  }
});

describe('canonical JSON hashing, checked against opa', () => {
  it(
    'verifies a bundle whose data.json needs the canonical form (numbers as written, UTF-8 key order, ' +
      'no HTML escapes)',
    async () => {
      const data = (await parseBundle(trickyBundle, MAX)).files.get('data.json') as Buffer;
      // opa build re-encodes data.json with HTML escaping; the hash is over the unescaped form.
      expect(data.toString()).toContain(String.raw`\u003c\u0026\u003e`);
      await expect(verify(trickyBundle, trustOf('rsa'))).resolves.toEqual({ signer: 'rsa-2026' });
      expect(opaAccepts(trickyBundle, signers.rsa as Signer, 'rsa-2026')).toBe(true);
    },
  );

  it('is the exact text OPA hashes', () => {
    expect(opaCanonicalJson('data.json', Buffer.from(TRICKY_DATA))).toBe(
      String.raw`{"a":1e2,"big":12345678901234567890,"ctl":"\u0001\b\f\t","html":"<&>","neg":-0,` +
        String.raw`"nested":{"a":{},"b":[1.50,null,false]},"seps":"\u2028\u2029","z":1.0,"é":true,"` +
        '\ue000' +
        '":1,"😀":2}',
    );
  });

  it('accepts a data.json rewritten with other whitespace, key order and escapes, as opa does', async () => {
    const rewritten = String.raw`{ "nested" : { "b" : [ 1.50 , null , false ] , "a" : { } } , "\ud83d\ude00" : 2 ,
      "\ue000": 1, "\u00e9": true, "ctl": "\u0001\u0008\u000c\u0009", "seps": "  ", "html": "\u003c&\u003E",
      "neg": -0, "big": 12345678901234567890, "a": 1e2, "z": 1.0 }`.replace('"  "', '"\u2028\u2029"');
    const gz = await tamper(trickyBundle, (f) => f.set('data.json', Buffer.from(rewritten)));
    expect(opaAccepts(gz, signers.rsa as Signer, 'rsa-2026')).toBe(true);
    await expect(verify(gz, trustOf('rsa'))).resolves.toEqual({ signer: 'rsa-2026' });
  });

  it('refuses a number written differently (1.0 as 1), as opa does', async () => {
    const gz = await tamper(trickyBundle, (f) =>
      f.set('data.json', Buffer.from((f.get('data.json') as Buffer).toString().replace('"z":1.0', '"z":1'))),
    );
    expect((await parseBundle(gz, MAX)).files.get('data.json')?.toString()).toContain('"z":1,');
    expect(opaAccepts(gz, signers.rsa as Signer, 'rsa-2026')).toBe(false);
    await expect(verify(gz, trustOf('rsa'))).rejects.toThrow(
      'bundle file data.json does not match its signed SHA-256 hash',
    );
  });

  it('refuses data.json that is not UTF-8', () => {
    expect(() => opaCanonicalJson('data.json', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toThrow(
      'bundle file data.json is not valid UTF-8 JSON',
    );
  });
});

describe('misuse', () => {
  it('a trusted key without kid is a TypeError', async () => {
    const { kid: _kid, ...jwk } = (signers.rsa as Signer).jwk;
    await expect(verify(rsaBundle, { keys: { keys: [jwk] } })).rejects.toThrow(TypeError);
  });
});
