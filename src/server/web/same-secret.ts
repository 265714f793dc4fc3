import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two secrets of any length (CSRF tokens, OAuth `state`). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
