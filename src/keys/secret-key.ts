import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Bytes of a symmetric key (A256GCM). */
const KEY_BYTES = 32;

/**
 * A 256-bit symmetric key held in `file` as base64url text, generated (mode 0600) on
 * first use: replicas that mount the same file share it. A file that does not hold
 * exactly 32 bytes is refused, never padded or cut.
 */
export function loadOrCreateSecretKey(file: string): Uint8Array {
  if (!existsSync(file)) {
    const key = randomBytes(KEY_BYTES);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${key.toString('base64url')}\n`, { mode: 0o600 });
    return new Uint8Array(key);
  }
  const text = readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64url');
  if (key.length !== KEY_BYTES || key.toString('base64url') !== text) {
    throw new TypeError(`${file} must hold a ${KEY_BYTES}-byte key as base64url text`);
  }
  return new Uint8Array(key);
}
