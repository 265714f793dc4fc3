import type { Config } from './schema.ts';
import type { ServerConfig } from './server.ts';

/** `path` on this service's listen address, as a browser on this machine reaches it; null with port 0. */
export function ownUrl(server: Pick<ServerConfig, 'host' | 'port'>, path: string): string | null {
  if (server.port === 0) return null;
  const name = server.host.includes(':') && !server.host.startsWith('[') ? `[${server.host}]` : server.host;
  return `http://${name}:${server.port}${path}`;
}

/** Where the console is served: `console.url`; in dev mode, `/console` on the listen address; else none. */
export function consoleUrl(config: Pick<Config, 'console' | 'server'>): string | null {
  return config.console?.url ?? (config.server.dev ? ownUrl(config.server, '/console') : null);
}
