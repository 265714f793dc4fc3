import { createHmac, createPublicKey, webcrypto, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { issuerConfigSchema } from '../../../src/config/identity.ts';
import { WardenError } from '../../../src/errors.ts';
import { createTokenVerifier } from '../../../src/identity/verifier.ts';
import { createTestKey, type TestKey } from '../../helpers/tokens.ts';
import { count, settledHeap, type FuzzTarget } from '../harness.ts';
import { anyString, anyValue, editString, RawJson, serialize, type StringEdit } from './body-mutations.ts';
import { sameJws } from './decide-oracle.ts';

const SERVER = 'https://mcp.example.com/files';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const NOW_S = NOW / 1000;
const HS_SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
const MAX_TOKEN_BYTES = 8192;

/** Every code an identity failure may carry (docs/reason-codes.md, identity section). */
const IDENTITY_CODES = new Set([
  'token_missing',
  'invalid_token',
  'token_too_large',
  'algorithm_not_allowed',
  'signature_invalid',
  'key_unknown',
  'jwks_unavailable',
  'token_expired',
  'token_not_yet_valid',
  'claim_missing',
  'claim_invalid',
  'token_type_invalid',
  'issuer_untrusted',
  'trust_domain_untrusted',
  'audience_mismatch',
  'server_unknown',
  'issuer_untrusted_for_server',
  'token_issued_in_future',
  'token_too_old',
]);

interface Signer {
  readonly iss: string;
  readonly alg: string;
  readonly kid: string;
  sign(input: string): Promise<string>;
}

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');

async function keySigner(key: TestKey, iss: string): Promise<Signer> {
  const params = key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  return {
    iss,
    alg: key.alg,
    kid: key.kid,
    sign: async (input) =>
      b64(
        new Uint8Array(await webcrypto.subtle.sign(params, key.privateKey as webcrypto.CryptoKey, Buffer.from(input))),
      ),
  };
}

function hmacSigner(secret: string | Buffer, iss: string, alg = 'HS256', kid = 'h1'): Signer {
  const digest = ({ HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as Record<string, string>)[alg] ?? 'sha256';
  return { iss, alg, kid, sign: async (input) => createHmac(digest, secret).update(input).digest('base64url') };
}

/** The claims an issuer would put in a valid token. */
const goodClaims = (iss: string) => ({
  iss,
  sub: 'alice',
  aud: SERVER,
  iat: NOW_S - 10,
  exp: NOW_S + 600,
  roles: ['reader'],
});

/** Whether a validly signed claims set must be accepted by RFC 7519 and the verifier's documented checks. */
function claimsValid(c: unknown, iss: string): boolean {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return false;
  const claims = c as Record<string, unknown>;
  const aud = claims.aud;
  return (
    claims.iss === iss &&
    typeof claims.sub === 'string' &&
    (aud === SERVER || (Array.isArray(aud) && aud.includes(SERVER))) &&
    typeof claims.iat === 'number' &&
    claims.iat <= NOW_S &&
    typeof claims.exp === 'number' &&
    claims.exp > NOW_S &&
    (claims.nbf === undefined || (typeof claims.nbf === 'number' && claims.nbf <= NOW_S))
  );
}

type Strategy =
  | { kind: 'edit'; base: number; edits: StringEdit[] }
  | { kind: 'bitflip'; base: number; segment: number; at: number; bit: number }
  | { kind: 'header'; base: number; changes: [string, unknown][] }
  | { kind: 'payload'; base: number; changes: [string, unknown][] }
  | { kind: 'forge'; signer: number; header: [string, unknown][]; claims: [string, unknown][]; base: number }
  | { kind: 'claims'; signer: number; claims: [string, unknown][]; drop: string[] }
  | { kind: 'splice'; parts: { base: number; segment: number }[]; glue: string }
  | { kind: 'huge'; base: number; pad: number };

const HEADER_KEYS = ['alg', 'kid', 'typ', 'crit', 'jku', 'x5u', 'jwk', 'x5c', 'b64', 'zip', 'enc', 'cty', 'x5t'];
const HEADER_VALUES: unknown[] = [
  'none',
  'None',
  'NONE',
  'nOnE',
  'HS256',
  'HS512',
  'RS256',
  'ES256',
  'ES384',
  'EdDSA',
  'PS256',
  'ES256K',
  '',
  null,
  0,
  [],
  {},
  '../../../../etc/passwd',
  "k1' OR '1'='1",
  'k1\u0000',
  'x'.repeat(3000),
  ['exp'],
  ['b64'],
  ['x-unknown'],
  false,
  true,
  'http://127.0.0.1:9/jwks.json',
  'DEF',
  ['MIIBIjAN'],
];
const CLAIM_KEYS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'roles',
  'scope',
  'client_id',
  'azp',
  '__proto__',
  'constructor',
];
const CLAIM_VALUES: unknown[] = [
  null,
  0,
  -1,
  NOW_S - 1,
  NOW_S,
  NOW_S + 1,
  NOW_S + 1e9,
  1e308,
  new RawJson('1e400'),
  new RawJson('-1e400'),
  '',
  'alice',
  'admin',
  ['admin'],
  [SERVER],
  [SERVER, 'x'],
  SERVER,
  `${SERVER}/`,
  'https://idp.test.example',
  'urn:mcp-warden:dev',
  {},
  { toString: 1 },
  { valueOf: 1 },
  new RawJson('"\\ud800"'),
  123,
];

const headerChange = fc.tuple(
  fc.oneof(fc.constantFrom(...HEADER_KEYS), anyString),
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...HEADER_VALUES) }, anyValue),
);
const claimChange = fc.tuple(
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CLAIM_KEYS) }, anyString),
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CLAIM_VALUES) }, anyValue),
);
const edit: fc.Arbitrary<StringEdit> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('replaceChar' as const, 'insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom('A', '_', '-', '.', '=', ' ', '+', '/', '\u0000'), anyString),
  }),
  fc.record({ kind: fc.constantFrom('truncate' as const, 'deleteChar' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constantFrom('append' as const, 'prepend' as const),
    text: fc.oneof(fc.constantFrom('.', '..', '.e30', '='), anyString),
  }),
);

function strategyArb(bases: number, signers: number): fc.Arbitrary<Strategy> {
  const base = fc.nat({ max: bases - 1 });
  const signer = fc.nat({ max: signers - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant('edit' as const), base, edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }),
    fc.record({
      kind: fc.constant('bitflip' as const),
      base,
      segment: fc.nat({ max: 2 }),
      at: fc.nat(),
      bit: fc.nat({ max: 7 }),
    }),
    fc.record({
      kind: fc.constant('header' as const),
      base,
      changes: fc.array(headerChange, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('payload' as const),
      base,
      changes: fc.array(claimChange, { minLength: 1, maxLength: 3 }),
    }),
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('forge' as const),
        signer,
        base,
        header: fc.array(headerChange, { maxLength: 2 }),
        claims: fc.array(claimChange, { maxLength: 2 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('claims' as const),
        signer,
        claims: fc.array(claimChange, { maxLength: 4 }),
        drop: fc.subarray(['iss', 'sub', 'aud', 'exp', 'iat']),
      }),
    },
    fc.record({
      kind: fc.constant('splice' as const),
      parts: fc.array(fc.record({ base, segment: fc.nat({ max: 2 }) }), { minLength: 1, maxLength: 5 }),
      glue: fc.constantFrom('.', '..', '', ' '),
    }),
    fc.record({ kind: fc.constant('huge' as const), base, pad: fc.constantFrom(100, 8000, 70_000) }),
  );
}

function withChanges(obj: Record<string, unknown>, changes: [string, unknown][]): string {
  const copy: Record<string, unknown> = { ...obj };
  for (const [k, v] of changes)
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  return serialize(copy);
}

/**
 * The JWT path: `verifier.verify` with mutated, forged and spliced tokens over three
 * issuers (ES256 and RS256 JWKS, an HS256 secret). Forgeries use an attacker's key of the
 * same kid, HMAC with the issuers' public keys as the secret, `alg: none`, and embedded
 * `jwk`/`jku`/`x5u`/`crit` headers.
 */
export const jwtTarget: FuzzTarget = {
  name: 'JWT verification (verifier.verify)',
  invariant:
    'a token is accepted only if it is one of the valid tokens (same signing input, same signature ' +
    "bytes) or its claims, signed by the issuer's own key, are valid; every refusal is a WardenError " +
    'with an identity code',
  defaultRuns: 3000,
  async open() {
    const es = await createTestKey('ES256', 'k1');
    const rs = await createTestKey('RS256', 'r1');
    const attacker = await createTestKey('ES256', 'k1');
    const ISS = { es: 'https://idp.test.example', rs: 'https://rs.test.example', hs: 'https://hs.test.example' };
    const verifier = createTokenVerifier({
      issuers: [
        issuerConfigSchema.parse({
          issuer: ISS.es,
          jwks: { keys: [es.publicJwk] },
          algorithms: ['ES256'],
          clock_tolerance_seconds: 0,
        }),
        issuerConfigSchema.parse({
          issuer: ISS.rs,
          jwks: { keys: [rs.publicJwk] },
          algorithms: ['RS256'],
          clock_tolerance_seconds: 0,
        }),
        issuerConfigSchema.parse({
          issuer: ISS.hs,
          hmac_secret: HS_SECRET,
          algorithms: ['HS256'],
          clock_tolerance_seconds: 0,
        }),
      ],
      cacheSize: 100,
      maxTokenBytes: MAX_TOKEN_BYTES,
      now: () => NOW,
    });
    const ed = await generateKeyPair('EdDSA', { extractable: true });
    const edJwk: JWK = await exportJWK(ed.publicKey);
    const pem = (jwk: JWK) =>
      createPublicKey({ key: jwk as NodeJsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    // [0..2] the issuers' own keys; the rest are forgeries.
    const legit = [await keySigner(es, ISS.es), await keySigner(rs, ISS.rs), hmacSigner(HS_SECRET, ISS.hs)];
    const signers: Signer[] = [
      ...legit,
      await keySigner(attacker, ISS.es),
      hmacSigner(JSON.stringify(es.publicJwk), ISS.es, 'HS256', 'k1'),
      hmacSigner(pem(es.publicJwk), ISS.es, 'HS256', 'k1'),
      hmacSigner(pem(rs.publicJwk), ISS.rs, 'HS256', 'r1'),
      hmacSigner(Buffer.from(rs.publicJwk.n as string, 'base64url'), ISS.rs, 'HS256', 'r1'),
      hmacSigner('', ISS.hs),
      hmacSigner(HS_SECRET, ISS.hs, 'HS512'),
      { iss: ISS.es, alg: 'none', kid: 'k1', sign: async () => '' },
    ];
    const mint = async (s: Signer, header: Record<string, unknown>, claims: string) => {
      const input = `${b64(serialize({ alg: s.alg, kid: s.kid, typ: 'at+jwt', ...header }))}.${b64(claims)}`;
      return `${input}.${await s.sign(input)}`;
    };
    const bases = await Promise.all(legit.map((s) => mint(s, {}, serialize(goodClaims(s.iss)))));
    for (const t of bases) await verifier.verify(t, SERVER); // each must verify, or the fixture is wrong

    const build = async (st: Strategy): Promise<{ token: string; validClaimsOf?: string }> => {
      const baseOf = (i: number) => bases[i % bases.length] as string;
      switch (st.kind) {
        case 'edit':
          return { token: st.edits.reduce(editString, baseOf(st.base)) };
        case 'bitflip': {
          const parts = baseOf(st.base).split('.');
          const bytes = Buffer.from(parts[st.segment] as string, 'base64url');
          if (bytes.length > 0) bytes[st.at % bytes.length] = (bytes[st.at % bytes.length] as number) ^ (1 << st.bit);
          parts[st.segment] = bytes.toString('base64url');
          return { token: parts.join('.') };
        }
        case 'header':
        case 'payload': {
          const parts = baseOf(st.base).split('.');
          const i = st.kind === 'header' ? 0 : 1;
          parts[i] = b64(withChanges(JSON.parse(Buffer.from(parts[i] as string, 'base64url').toString()), st.changes));
          return { token: parts.join('.') };
        }
        case 'forge': {
          const s = signers[3 + (st.signer % (signers.length - 3))] as Signer;
          const header = Object.fromEntries(st.header);
          if (header.jwk !== undefined || st.signer % 2 === 0)
            header.jwk = s === signers[3] ? attacker.publicJwk : edJwk;
          return { token: await mint(s, header, withChanges(goodClaims(s.iss), st.claims)) };
        }
        case 'claims': {
          const s = legit[st.signer % legit.length] as Signer;
          const claims: Record<string, unknown> = goodClaims(s.iss);
          for (const k of st.drop) delete claims[k];
          const text = withChanges(claims, st.claims);
          return { token: await mint(s, {}, text), validClaimsOf: s.iss };
        }
        case 'splice':
          return { token: st.parts.map((p) => baseOf(p.base).split('.')[p.segment]).join(st.glue) };
        case 'huge':
          return { token: baseOf(st.base) + 'A'.repeat(st.pad) };
      }
    };

    const outcomes = new Map<string, number>();
    const heapBefore = settledHeap();
    const property = fc.asyncProperty(strategyArb(bases.length, legit.length), async (st) => {
      const { token, validClaimsOf } = await build(st);
      let accepted = false;
      try {
        const principal = await verifier.verify(token, SERVER);
        accepted = true;
        count(outcomes, `${st.kind}: accepted`);
        if (typeof principal.sub !== 'string' || typeof principal.iss !== 'string')
          throw new Error('a principal without iss/sub');
      } catch (err) {
        if (accepted) throw err;
        if (!(err instanceof WardenError))
          throw new Error(`${st.kind}: threw a non-coded ${String(err)} for ${token.slice(0, 400)}`);
        if (!IDENTITY_CODES.has(err.code)) throw new Error(`${st.kind}: code ${err.code} is not an identity code`);
        count(outcomes, `${st.kind}: ${err.code}`);
      }
      if (!accepted) return;
      if (bases.some((b) => sameJws(token, b))) return;
      if (validClaimsOf !== undefined) {
        const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
        if (claimsValid(claims, validClaimsOf)) return;
        throw new Error(
          `WRONG ACCEPT: claims ${Buffer.from(token.split('.')[1] as string, 'base64url')
            .toString()
            .slice(0, 300)}`,
        );
      }
      throw new Error(`WRONG ACCEPT (${st.kind}): ${token.slice(0, 400)}`);
    });
    return {
      outcomes,
      check: (parameters) =>
        fc.check(property, parameters as fc.Parameters<[Strategy]>) as Promise<fc.RunDetails<unknown>>,
      async finish() {
        const growth = settledHeap() - heapBefore;
        if (growth > 64 << 20) throw new Error(`heap grew ${(growth / 2 ** 20).toFixed(1)} MiB`);
        return [`heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`];
      },
      async close() {},
    };
  },
};
