/** A parsed SPIFFE ID (`spiffe://<trust domain>/<path>`). */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
}

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Parses a SPIFFE ID as the SPIFFE-ID standard defines it; null when it is not one. */
export function parseSpiffeId(value: unknown): SpiffeId | null {
  if (typeof value !== 'string' || !value.startsWith('spiffe://') || value.length > 2048) return null;
  const rest = value.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return null;
  if (path !== '') {
    const segments = path.slice(1).split('/');
    if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) return null;
  }
  return { trustDomain, path };
}
