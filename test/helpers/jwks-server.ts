import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** A JWKS (and OIDC discovery) endpoint on loopback whose keys, delay and failures tests change. */
export interface JwksServer {
  readonly url: string;
  keys: JWK[];
  delayMs: number;
  /** Every request, whatever its path. */
  hits: number;
  /** Requests for the discovery document, and for the JWKS. */
  discoveryHits: number;
  jwksHits: number;
  /** When set, every answer is this HTTP status with an empty object. */
  failWith: number | undefined;
  /** The `issuer` the discovery document claims; the server's own URL by default. */
  discoveryIssuer: string | undefined;
  /** The `jwks_uri` the discovery document names; the server's own `/jwks.json` by default. */
  discoveryJwksUri: string | undefined;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = {
    keys,
    delayMs: 0,
    hits: 0,
    discoveryHits: 0,
    jwksHits: 0,
    failWith: undefined as number | undefined,
    discoveryIssuer: undefined as string | undefined,
    discoveryJwksUri: undefined as string | undefined,
  };
  let url = '';
  const server: Server = createServer((req, res) => {
    state.hits += 1;
    if (req.url === '/.well-known/openid-configuration') state.discoveryHits += 1;
    if (req.url === '/jwks.json') state.jwksHits += 1;
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      if (state.failWith !== undefined) {
        res.statusCode = state.failWith;
        res.end('{}');
      } else if (req.url === '/.well-known/openid-configuration') {
        const jwksUri = state.discoveryJwksUri ?? `${url}/jwks.json`;
        res.end(JSON.stringify({ issuer: state.discoveryIssuer ?? url, jwks_uri: jwksUri }));
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
