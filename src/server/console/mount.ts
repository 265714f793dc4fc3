import { mountAt, type WebMount } from '../web/mount.ts';

/** Where the console is served, from its URL as browsers reach it (config `console.url`). */
export type ConsoleMount = WebMount;

/** The mount of the console at `url`; throws when the URL has no path of its own. */
export function consoleMount(url: string): ConsoleMount {
  return mountAt(url, 'console.url', '/console');
}

/** Whether a route (its URL pattern) is the console's. */
export function isConsoleRoute(route: string | undefined, mount: Pick<ConsoleMount, 'path'>): boolean {
  return route !== undefined && (route === mount.path || route.startsWith(`${mount.path}/`));
}
