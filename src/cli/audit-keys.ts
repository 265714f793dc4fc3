import { existsSync, readFileSync } from 'node:fs';
import { importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { z } from 'zod';
import { loadOrCreateSigningKey } from '../keys/key-file.ts';
import { Refused } from './refused.ts';

const ed25519PublicKey = z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().min(1) });
const jwksSchema = z.looseObject({ keys: z.array(z.unknown()).min(1) });

/** `mcp-warden audit keys`: the checkpoint key's public half as a JWKS, what `audit verify --keys` reads. */
export async function auditKeysCommand(keyFile: string): Promise<number> {
  console.log(JSON.stringify(await checkpointPublicKeys(keyFile), null, 2));
  return 0;
}

/**
 * The public half of the checkpoint key in `file`. Never generates one: a new key
 * would verify nothing the service signed.
 */
export async function checkpointPublicKeys(file: string): Promise<JSONWebKeySet> {
  if (!existsSync(file)) {
    throw new Refused(
      2,
      `audit: no checkpoint key at ${file} (audit.checkpoint_key_file; the service creates it at its first ` +
        "start): run where the service runs, or give the auditors' keys with --keys",
    );
  }
  try {
    return { keys: [(await loadOrCreateSigningKey(file, 'audit')).publicJwk] };
  } catch (err) {
    throw new Refused(2, `audit: ${file} is not a checkpoint key: ${(err as Error).message}`);
  }
}

/** The trusted keys an auditor gives with `--keys`: a JWKS of Ed25519 public keys only. */
export async function readTrustedKeys(file: string): Promise<JSONWebKeySet> {
  const refuse = (why: string) => new Refused(2, `audit: --keys ${file} ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw refuse(`cannot be read as JSON: ${(err as Error).message}`);
  }
  const jwks = jwksSchema.safeParse(json);
  if (!jwks.success) {
    // The likeliest mistake: the service's key file itself, one private JWK rather than a set.
    const hint = typeof json === 'object' && json !== null && 'kty' in json ? ' (it is a single JWK)' : '';
    throw refuse(`is not a JWKS {"keys": [...]}${hint}: export one with \`mcp-warden audit keys\``);
  }
  for (const [i, key] of jwks.data.keys.entries()) {
    if (!ed25519PublicKey.safeParse(key).success) throw refuse(`key ${i} is not an Ed25519 public key (OKP, Ed25519)`);
    if (Object.hasOwn(key as object, 'd')) throw refuse(`key ${i} holds a private key: give only the public half`);
    await importJWK(key as JWK, 'EdDSA').catch((err: Error) => {
      throw refuse(`key ${i} does not import: ${err.message}`);
    });
  }
  return json as JSONWebKeySet;
}
