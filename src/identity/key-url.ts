import { isLoopback } from '../server/loopback.ts';

/** Why an `http:` key URL is refused: what config validation and discovery both say. */
export const KEY_URL_RULE = 'must be https: (http: only for a loopback host: localhost, 127.0.0.0/8, [::1])';

/**
 * Whether keys may be fetched from `url`: https always; plain http only on loopback,
 * where no network attacker sits between us and the server (a local IdP, tests).
 * Keys fetched over http from anywhere else could be swapped in transit for an attacker's.
 */
export function isSafeKeyUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  return parsed.protocol === 'http:' && isLoopback(parsed.hostname.replace(/^\[(.*)\]$/, '$1'));
}
