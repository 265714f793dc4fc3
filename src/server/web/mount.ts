/** Where a page served with the API (the approval page, the console) is, from its URL as browsers reach it. */
export interface WebMount {
  /** The path its routes are mounted at (the URL's pathname, no trailing slash), and its cookies' Path. */
  readonly path: string;
  /** Its origin: its form posts carry it as Origin. */
  readonly origin: string;
  /** https: its cookies are Secure. */
  readonly secure: boolean;
  /** `<url>/callback`: the redirect URI to register at the issuer. */
  readonly redirectUri: string;
}

/**
 * The mount at `url` (config `setting`); throws, naming the setting, when the URL has no
 * path of its own (such as `example`) or has a query or fragment.
 */
export function mountAt(url: string, setting: string, example: string): WebMount {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/\/+$/, '');
  if (path === '') throw new Error(`${setting} ${url} has no path: it needs one of its own, such as ${example}`);
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new Error(`${setting} ${url} has a query or fragment: it is served at a plain path`);
  }
  return {
    path,
    origin: parsed.origin,
    secure: parsed.protocol === 'https:',
    redirectUri: `${parsed.origin}${path}/callback`,
  };
}
