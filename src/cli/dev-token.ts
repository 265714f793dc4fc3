import { parseArgs } from 'node:util';
import { isLoopback } from '../server/loopback.ts';

/** The MCP server id used by the quickstart and dev tokens unless told otherwise. */
const DEFAULT_SERVER = 'https://mcp.example.com/files';

/** `mcp-warden dev-token`: a token minted by a running dev-mode service, refused off loopback. */
export async function devTokenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      role: { type: 'string', multiple: true },
      scope: { type: 'string' },
      'client-id': { type: 'string' },
      server: { type: 'string', default: DEFAULT_SERVER },
      ttl: { type: 'string' },
      url: { type: 'string', default: process.env.MCP_WARDEN_URL ?? 'http://127.0.0.1:8181' },
    },
    strict: true,
  });
  if (!values.sub) {
    console.error('dev-token: --sub is required');
    return 2;
  }
  const url = new URL('/v1/dev/token', values.url);
  if (!isLoopback(url.hostname.replace(/^\[|\]$/g, ''))) {
    console.error(`dev-token: refused: ${url.host} is not loopback; dev tokens exist only on loopback`);
    return 2;
  }
  const body = {
    sub: values.sub,
    server: values.server,
    roles: values.role,
    scope: values.scope,
    client_id: values['client-id'],
    ttl_seconds: values.ttl === undefined ? undefined : Number(values.ttl),
  };
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    console.error(`dev-token: no service answers at ${url.origin}; start it with \`npm start\``);
    return 1;
  }
  const answer = (await response.json()) as { token?: string; code?: string; message?: string };
  if (response.status === 404) {
    console.error('dev-token: refused: the service is not in dev mode (start it with --dev on loopback)');
    return 1;
  }
  if (!response.ok || !answer.token) {
    console.error(`dev-token: refused: ${answer.code ?? response.status}: ${answer.message ?? ''}`);
    return 1;
  }
  console.log(answer.token);
  return 0;
}
