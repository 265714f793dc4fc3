import { existsSync, readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { type NoteSigner, noteSigner } from '../audit/signed-note.ts';
import { loadOrCreateSigningKey } from '../keys/key-file.ts';

/** The default key name of a witness, the name its cosignature lines carry. */
export const DEFAULT_WITNESS_NAME = 'mcp-warden-witness';

/**
 * The witness's cosigning key (c2sp.org/tlog-cosignature, `cosignature/v1`, Ed25519): an
 * Ed25519 private JWK in `file`, created on first use with an exclusive create, mode 0600
 * (src/keys/key-file.ts), whose `d` is the RFC 8032 seed. `created` says it was just made.
 */
export async function loadWitnessSigner(file: string, name: string): Promise<{ signer: NoteSigner; created: boolean }> {
  const created = !existsSync(file);
  await loadOrCreateSigningKey(file, 'witness');
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string')
    throw new TypeError(`the witness key ${file} is not an Ed25519 private JWK`);
  return { signer: noteSigner(name, Buffer.from(jwk.d, 'base64url'), 'cosignature/v1'), created };
}
