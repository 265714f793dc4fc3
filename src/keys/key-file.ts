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
 * with `kidPrefix`) on first use. Used for the dev issuer, audit checkpoints and upstream
 * identity assertions.
 */
export async function loadOrCreateSigningKey(file: string, kidPrefix: string): Promise<SigningKey> {
  const privateJwk = existsSync(file) ? readKey(file) : await createKey(file, kidPrefix);
  const { d: _secret, ...publicJwk } = privateJwk;
  return { kid: privateJwk.kid as string, key: await importJWK(privateJwk, 'EdDSA'), publicJwk };
}

function readKey(file: string): JWK {
  return JSON.parse(readFileSync(file, 'utf8')) as JWK;
}

/**
 * Writes a new key with an exclusive create (`wx`: an existing file or a symlink planted
 * at the path is never followed or overwritten); a process that lost the race reads the
 * winner's key.
 */
async function createKey(file: string, kidPrefix: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: `${kidPrefix}-${Date.now().toString(36)}`, alg: 'EdDSA' };
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readKey(file);
  }
  return privateJwk;
}
