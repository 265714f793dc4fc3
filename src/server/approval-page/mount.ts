import type { OriginPolicy } from '../origin-guard.ts';

/** Where the page is served, derived from its URL as clients reach it. */
export interface PageMount {
  /** The path the routes are mounted at (the URL's pathname, no trailing slash), and the cookies' Path. */
  readonly path: string;
  /** The page's origin: its form posts carry it as Origin. */
  readonly origin: string;
  /** https: the cookies are Secure. */
  readonly secure: boolean;
  /** `<page_url>/callback`: the redirect URI to register at the issuer. */
  readonly redirectUri: string;
}

/** The mount of the page at `pageUrl`; throws when the URL has no path to mount at. */
export function pageMount(pageUrl: string): PageMount {
  const url = new URL(pageUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '') {
    throw new Error(`approvals.page_url ${pageUrl} has no path: the page needs one of its own, such as /approvals`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Error(`approvals.page_url ${pageUrl} has a query or fragment: the page is served at a plain path`);
  }
  const base = `${url.origin}${path}`;
  return { path, origin: url.origin, secure: url.protocol === 'https:', redirectUri: `${base}/callback` };
}

/** The page's routes, under its path: the request, the sign-in's callback, the decision. */
export const PAGE_ROUTES = { request: '/:id', callback: '/callback', decision: '/:id/decision' } as const;

/** Whether a route (its URL pattern) is one of the page's, exactly: no other route under its path. */
export function isPageRoute(route: string | undefined, mount: Pick<PageMount, 'path'>): boolean {
  return route !== undefined && Object.values(PAGE_ROUTES).some((r) => route === `${mount.path}${r}`);
}

/** `policy`, with the page's own origin allowed too: for the page's routes only (its form posts). */
export function withPageOrigin(policy: OriginPolicy, mount: Pick<PageMount, 'origin'>): OriginPolicy {
  return { ...policy, allowedOrigins: new Set([...policy.allowedOrigins, mount.origin]) };
}
