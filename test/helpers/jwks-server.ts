import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** A JWKS (and OIDC discovery) endpoint on loopback whose keys and delay tests change. */
export interface JwksServer {
  readonly url: string;
  keys: JWK[];
  delayMs: number;
  hits: number;
  /** The `issuer` the discovery document claims; the server's own URL by default. */
  discoveryIssuer: string | undefined;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, delayMs: 0, hits: 0, discoveryIssuer: undefined as string | undefined };
  let url = '';
  const server: Server = createServer((req, res) => {
    state.hits += 1;
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(JSON.stringify({ issuer: state.discoveryIssuer ?? url, jwks_uri: `${url}/jwks.json` }));
      } else if (req.url === '/jwks.json') {
        res.end(JSON.stringify({ keys: state.keys }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs).unref();
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as JwksServer;
}
