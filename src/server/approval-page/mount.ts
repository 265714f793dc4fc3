import type { OriginPolicy } from '../origin-guard.ts';
import { mountAt, type WebMount } from '../web/mount.ts';

/** Where the page is served, derived from its URL as clients reach it. */
export type PageMount = WebMount;

/** The mount of the page at `pageUrl`; throws when the URL has no path to mount at. */
export function pageMount(pageUrl: string): PageMount {
  return mountAt(pageUrl, 'approvals.page_url', '/approvals');
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
