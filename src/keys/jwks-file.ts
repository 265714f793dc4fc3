import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';

/**
 * The JWKS in the file at `path`, which config names as `key`: a missing, unreadable or
 * malformed file is an error that names both, not a bare `ENOENT` or JSON syntax error.
 */
export function readJwksFile(path: string, key: string): JSONWebKeySet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new Error(`${key}: cannot read '${path}': ${why}`);
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch (err) {
    throw new Error(`${key}: '${path}' is not JSON: ${(err as Error).message}`);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new Error(`${key}: '${path}' is not a JWKS: expected {"keys": [ …at least one JWK… ]}`);
  }
  return jwks as JSONWebKeySet;
}
