import { existsSync } from 'node:fs';
import { type DevTokenClaims, loadDevIssuer } from '../identity/dev-issuer.ts';
import { isLoopback } from '../server/loopback.ts';
import { integerFlag, parseFlags, UsageError } from './args.ts';

/** The MCP server id used by the quickstart and dev tokens unless told otherwise. */
const DEFAULT_SERVER = 'https://mcp.example.com/files';

/**
 * `mcp-warden dev-token`: a token minted by a running dev-mode service, refused off loopback;
 * or, with `--key-file`, signed here with the dev key a dev-mode process keeps in that file
 * (how a token is had for `proxy --dev`, which decides in process and serves no token route).
 */
export async function devTokenCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    sub: { type: 'string' },
    role: { type: 'string', multiple: true },
    scope: { type: 'string' },
    'client-id': { type: 'string' },
    server: { type: 'string', default: DEFAULT_SERVER },
    ttl: { type: 'string' },
    url: { type: 'string', default: process.env.MCP_WARDEN_URL ?? 'http://127.0.0.1:8181' },
    'key-file': { type: 'string' },
  });
  if (!values.sub) throw new UsageError('--sub <id> is required');
  const ttl = integerFlag('--ttl', values.ttl, {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    what: 'a whole number of seconds (at least 1)',
  });
  const claims = {
    sub: values.sub,
    audience: values.server,
    roles: values.role,
    scope: values.scope,
    client_id: values['client-id'],
    ttl_seconds: ttl,
  };
  const keyFile = values['key-file'];
  if (keyFile !== undefined) return mintWithKeyFile(keyFile, claims);
  if (!URL.canParse(values.url) || !/^https?:$/.test(new URL(values.url).protocol)) {
    throw new UsageError(
      `--url expects an http(s) URL such as http://127.0.0.1:8181, not ${JSON.stringify(values.url)}`,
    );
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
    ttl_seconds: ttl,
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

/** Signs with the dev key in `file`; one that does not exist yet is no one's key, so it is refused. */
async function mintWithKeyFile(file: string, claims: DevTokenClaims): Promise<number> {
  if (!existsSync(file)) {
    console.error(`dev-token: no dev key at ${file}: start \`proxy --dev\` or \`serve --dev\` first, which create it`);
    return 1;
  }
  const issuer = await loadDevIssuer(file);
  console.log(await issuer.mint(claims));
  return 0;
}
