import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** An Ed25519 signing key held in a file, with its public half. */
export interface SigningKey {
  readonly kid: string;
  readonly key: CryptoKey | Uint8Array;
  readonly publicJwk: JWK;
}

/**
 * Loads an Ed25519 private JWK from `file`, generating it (mode 0600, `kid` prefixed
 * with `kidPrefix`) on first use. Used for the dev issuer and for audit checkpoints.
 */
export async function loadOrCreateSigningKey(file: string, kidPrefix: string): Promise<SigningKey> {
  let privateJwk: JWK;
  if (existsSync(file)) {
    privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: `${kidPrefix}-${Date.now().toString(36)}`, alg: 'EdDSA' };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  const { d: _secret, ...publicJwk } = privateJwk;
  return { kid: privateJwk.kid as string, key: await importJWK(privateJwk, 'EdDSA'), publicJwk };
}
