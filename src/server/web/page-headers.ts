import { createHash } from 'node:crypto';

/**
 * The headers of a page served without script (the approval page, the console): its one
 * style block allowed by hash and nothing else loaded, forms posting only here, no frame,
 * no cache, and no referrer beyond this origin. Not `no-referrer`: under it a browser posts
 * a form with `Origin: null`, which the origin guard refuses; `same-origin` keeps the real
 * Origin on our own forms.
 */
export function strictPageHeaders(style: string): Readonly<Record<string, string>> {
  const styleHash = createHash('sha256').update(style).digest('base64');
  return Object.freeze({
    'content-security-policy':
      `default-src 'none'; style-src 'sha256-${styleHash}'; form-action 'self'; ` +
      "frame-ancestors 'none'; base-uri 'none'",
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
  });
}
