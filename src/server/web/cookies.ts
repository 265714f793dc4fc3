/** The page's cookies: the sign-in flow (SameSite=Lax: it must survive the way back from the issuer), the session. */
export const FLOW_COOKIE = 'mwa_flow';
export const SESSION_COOKIE = 'mwa_session';

/** Where and how the page's cookies are set. */
export interface CookieScope {
  /** The page's path: the cookies go to its routes only. */
  readonly path: string;
  /** The page is served over https: the cookies never travel in the clear. */
  readonly secure: boolean;
}

/** The value of cookie `name` in a Cookie header (the first, as the most specific path comes first). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** A Set-Cookie value: HttpOnly always; `maxAgeSeconds` 0 deletes it. */
export function setCookie(
  name: string,
  value: string,
  scope: CookieScope,
  sameSite: 'Lax' | 'Strict',
  maxAgeSeconds: number,
): string {
  const secure = scope.secure ? '; Secure' : '';
  return `${name}=${value}; Path=${scope.path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=${sameSite}${secure}`;
}
