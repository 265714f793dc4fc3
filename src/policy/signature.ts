import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import {
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type CompactJWSHeaderParameters,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { z } from 'zod';
import { BundleInvalid, BundleUnsigned } from '../errors.ts';
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../keys/algorithms.ts';

/** The signature file at the bundle root, as `opa build --signing-key` writes it. */
export const SIGNATURES_FILE = '.signatures.json';

/** Keys trusted to sign policy bundles. */
export interface BundleTrust {
  /** Public keys (RSA, EC, OKP), each with a `kid`; list several to rotate. */
  readonly keys: JSONWebKeySet;
  /** Shared HMAC secrets by key id; HS256/384/512 is accepted only for these ids. */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** Options of {@link verifyBundleSignature}. */
export interface VerifyBundleSignatureOptions {
  /** The `scope` claim the signature must carry; without it, the signature must carry none (as OPA). */
  readonly scope?: string;
}

/** Who signed a verified bundle. */
export interface BundleSignature {
  /** The key id that verified the signature. */
  readonly signer: string;
}

/** OPA's hash names (v1/bundle/hash.go) to node's; MD5 and SHA-1 are left out on purpose. */
const HASHES: Readonly<Record<string, string>> = {
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256',
};
const WEAK_HASHES = new Set(['MD5', 'SHA-1']);

const signaturesSchema = z.looseObject({
  signatures: z.array(z.string()),
  plugin: z.string().optional(),
});

const payloadSchema = z.looseObject({
  files: z.array(z.looseObject({ name: z.string(), hash: z.string(), algorithm: z.string() })),
  keyid: z.string().optional(),
  scope: z.string().optional(),
});

/** True when the bundle carries a `.signatures.json` at its root. */
export function isSigned(files: ReadonlyMap<string, Buffer>): boolean {
  return files.has(SIGNATURES_FILE);
}

/**
 * Verifies an OPA bundle signature (`opa build --signing-key`): exactly one compact JWS in
 * `.signatures.json`, signed by a trusted key chosen by the header `kid` (else the payload
 * `keyid`, as OPA does), whose payload lists every other file of the bundle with its hash.
 * Throws {@link BundleInvalid} naming the first problem.
 */
export async function verifyBundleSignature(
  files: ReadonlyMap<string, Buffer>,
  trust: BundleTrust,
  options: VerifyBundleSignatureOptions = {},
): Promise<BundleSignature> {
  const jwks = localJwks(trust);
  const token = readSignatureToken(files);
  const { header, kid } = claimedKey(token);
  const payload = await verifyToken(token, header, kid, trust, jwks);
  if ((payload.scope ?? '') !== (options.scope ?? '')) {
    throw new BundleInvalid(
      `bundle signature scope ${JSON.stringify(payload.scope ?? '')} is not the expected ` +
        `${JSON.stringify(options.scope ?? '')}`,
    );
  }
  checkFiles(files, payload.files);
  return { signer: kid };
}

// ---- the signature file ----------------------------------------------------------

function readSignatureToken(files: ReadonlyMap<string, Buffer>): string {
  const raw = files.get(SIGNATURES_FILE);
  if (raw === undefined) throw new BundleUnsigned(`bundle is not signed: it has no ${SIGNATURES_FILE}`);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BundleInvalid(`bundle file ${SIGNATURES_FILE} is not valid JSON`);
  }
  const parsed = signaturesSchema.safeParse(value);
  if (!parsed.success) throw new BundleInvalid(`bundle file ${SIGNATURES_FILE} has the wrong shape`);
  const { signatures, plugin } = parsed.data;
  if (plugin !== undefined && plugin !== '' && plugin !== '_default') {
    throw new BundleInvalid(`bundle signature plugin ${JSON.stringify(plugin)} is not supported`);
  }
  if (signatures.length !== 1) {
    throw new BundleInvalid(
      `bundle file ${SIGNATURES_FILE} holds ${signatures.length} signatures; exactly one is supported`,
    );
  }
  return signatures[0] as string;
}

/** The key the token claims, read before verification only to pick the key. */
function claimedKey(token: string): { header: JWSHeaderParameters; kid: string } {
  let header: JWSHeaderParameters;
  let keyid: unknown;
  try {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Error('not three parts');
    header = decodeProtectedHeader(token);
    keyid = (JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as { keyid?: unknown }).keyid;
  } catch {
    throw new BundleInvalid('bundle signature is not a compact JWS with a JSON payload');
  }
  const headerKid = typeof header.kid === 'string' && header.kid !== '' ? header.kid : undefined;
  const claimKid = typeof keyid === 'string' && keyid !== '' ? keyid : undefined;
  if (headerKid !== undefined && claimKid !== undefined && headerKid !== claimKid) {
    throw new BundleInvalid(`bundle signature header kid ${headerKid} differs from its keyid claim ${claimKid}`);
  }
  const kid = headerKid ?? claimKid;
  if (kid === undefined) throw new BundleInvalid('bundle signature names no key: no kid header and no keyid claim');
  return { header, kid };
}

async function verifyToken(
  token: string,
  header: JWSHeaderParameters,
  kid: string,
  trust: BundleTrust,
  jwks: ReturnType<typeof createLocalJWKSet>,
): Promise<z.infer<typeof payloadSchema>> {
  const secret = trust.secrets?.[kid];
  const known = secret !== undefined || trust.keys.keys.some((k) => k.kid === kid);
  if (!known) throw new BundleInvalid(`bundle is signed with unknown key ${kid}`);
  const alg = String(header.alg);
  let verified: Uint8Array;
  try {
    const result =
      secret !== undefined
        ? await compactVerify(token, new TextEncoder().encode(secret), { algorithms: [...HMAC_ALGORITHMS] })
        : // The kid may come from the payload (OPA's `keyid`), so hand it to the key set explicitly.
          await compactVerify(
            token,
            (protectedHeader: CompactJWSHeaderParameters, input: FlattenedJWSInput) =>
              jwks({ ...protectedHeader, kid }, input),
            { algorithms: [...ASYMMETRIC_ALGORITHMS] },
          );
    verified = result.payload;
  } catch (err) {
    throw new BundleInvalid(verifyFailure(err, kid, alg), { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(verified));
  } catch {
    throw new BundleInvalid('bundle signature payload is not valid JSON');
  }
  const parsed = payloadSchema.safeParse(value);
  if (!parsed.success) throw new BundleInvalid('bundle signature payload has the wrong shape');
  return parsed.data;
}

function verifyFailure(err: unknown, kid: string, alg: string): string {
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return `bundle signature does not verify with key ${kid}`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return `bundle signature algorithm ${alg} is not allowed for key ${kid}`;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return `bundle key ${kid} does not fit algorithm ${alg}`;
  if (err instanceof errors.JWSInvalid) return `bundle signature is not a valid JWS: ${err.message}`;
  return `bundle signature cannot be verified with key ${kid}`;
}

const jwksCache = new WeakMap<BundleTrust, ReturnType<typeof createLocalJWKSet>>();

/** The key set of a trust, built once; a key without `kid` is misuse, so a TypeError. */
function localJwks(trust: BundleTrust): ReturnType<typeof createLocalJWKSet> {
  let jwks = jwksCache.get(trust);
  if (jwks !== undefined) return jwks;
  const ids = new Set<string>();
  for (const key of trust.keys.keys) {
    if (typeof key.kid !== 'string' || key.kid === '') throw new TypeError('every bundle signing key needs a kid');
    if (ids.has(key.kid)) throw new TypeError(`bundle signing key id ${key.kid} is listed twice`);
    ids.add(key.kid);
  }
  for (const id of Object.keys(trust.secrets ?? {})) {
    if (ids.has(id)) throw new TypeError(`bundle signing key id ${id} is both a public key and a secret`);
  }
  try {
    jwks = createLocalJWKSet(trust.keys);
  } catch (err) {
    throw new TypeError('bundle signing keys are not a valid JSON Web Key Set', { cause: err });
  }
  jwksCache.set(trust, jwks);
  return jwks;
}

// ---- the signed file list ----------------------------------------------------------

function checkFiles(files: ReadonlyMap<string, Buffer>, listed: z.infer<typeof payloadSchema>['files']): void {
  const signed = new Map<string, { hash: string; algorithm: string }>();
  for (const entry of listed) {
    if (signed.has(entry.name)) throw new BundleInvalid(`bundle signature lists ${entry.name} twice`);
    signed.set(entry.name, entry);
  }
  // Unlike OPA, only the root .signatures.json is exempt: OPA skips any path ending in
  // "signatures.json", which would leave such a file unverified.
  const present = [...files.keys()].filter((name) => name !== SIGNATURES_FILE).sort();
  for (const name of present) {
    const entry = signed.get(name);
    if (entry === undefined) throw new BundleInvalid(`bundle file ${name} is not covered by the signature`);
    const want = entry.hash.toLowerCase();
    if (!/^[0-9a-f]+$/.test(want)) throw new BundleInvalid(`bundle signature hash of ${name} is not hex`);
    if (fileDigest(name, files.get(name) as Buffer, entry.algorithm) !== want) {
      throw new BundleInvalid(`bundle file ${name} does not match its signed ${entry.algorithm} hash`);
    }
  }
  const missing = [...signed.keys()].filter((name) => !files.has(name) || name === SIGNATURES_FILE).sort();
  if (missing.length > 0) {
    throw new BundleInvalid(`bundle file${missing.length > 1 ? 's' : ''} ${missing.join(', ')} signed but missing`);
  }
}

/** Hex digest of one file as OPA computes it: structured files canonically, others raw. */
function fileDigest(name: string, body: Buffer, algorithm: string): string {
  const node = HASHES[algorithm];
  if (node === undefined) {
    const why = WEAK_HASHES.has(algorithm) ? 'is too weak' : 'is not supported';
    throw new BundleInvalid(`bundle file ${name} is signed with hash ${algorithm}, which ${why}`);
  }
  const hash = createHash(node);
  if (isStructured(name)) hash.update(opaCanonicalJson(name, body), 'utf8');
  else hash.update(body);
  return hash.digest('hex');
}

/** OPA's `IsStructuredDoc` (v1/bundle/bundle.go): these base names are hashed as parsed JSON. */
function isStructured(name: string): boolean {
  const base = posix.basename(name);
  if (base === 'data.yaml') {
    // OPA parses YAML here; we read JSON only, so fail closed rather than guess.
    throw new BundleInvalid(`bundle file ${name} is YAML, which signature verification does not support`);
  }
  return base === 'data.json' || base === '.manifest' || base === 'signatures.json';
}

// ---- OPA's canonical JSON ------------------------------------------------------------

/** A number kept as its source text: OPA decodes with `UseNumber`, so `1.0` hashes as `1.0`. */
class NumberLiteral {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

type Json = null | boolean | string | NumberLiteral | Json[] | { [key: string]: Json };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text OPA hashes for a structured bundle file (`walk` in v1/bundle/hash.go): objects
 * with keys sorted by their UTF-8 bytes, no whitespace, numbers as written, strings as Go's
 * encoding/json writes them without HTML escaping. This is not RFC 8785 (which rewrites
 * numbers and sorts by UTF-16 units), so the `canonicalize` package does not fit here.
 */
export function opaCanonicalJson(name: string, body: Uint8Array): string {
  let value: Json;
  try {
    const text = strictUtf8.decode(body);
    value = JSON.parse(text, (_key: string, v: unknown, context?: { source?: string }) =>
      typeof v === 'number' ? new NumberLiteral(context?.source ?? String(v)) : v,
    ) as Json;
  } catch {
    throw new BundleInvalid(`bundle file ${name} is not valid UTF-8 JSON`);
  }
  try {
    return encode(value);
  } catch (err) {
    if (err instanceof BundleInvalid) throw err;
    throw new BundleInvalid(`bundle file ${name} is too deeply nested to verify`);
  }
}

function encode(value: Json): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return goString(value);
  if (value instanceof NumberLiteral) return value.source;
  if (Array.isArray(value)) return `[${value.map(encode).join(',')}]`;
  // Go decodes unpaired surrogates to U+FFFD before the keys meet in a map.
  const entries = new Map<string, Json>();
  for (const [key, child] of Object.entries(value)) {
    const wellFormed = key.toWellFormed();
    if (entries.has(wellFormed))
      throw new BundleInvalid('bundle JSON has keys that differ only in unpaired surrogates');
    entries.set(wellFormed, child);
  }
  const keys = [...entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return `{${keys.map((k) => `${goString(k)}:${encode(entries.get(k) as Json)}`).join(',')}}`;
}

/** Go's encoding/json string form with SetEscapeHTML(false); JSON.stringify differs only in U+2028/9. */
function goString(s: string): string {
  return JSON.stringify(s.toWellFormed())
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
