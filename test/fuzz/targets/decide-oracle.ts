/**
 * An oracle for `POST /v1/decide` written from the documents (docs/sessions.md, the
 * default policy's catalogue), not from the code: whether a body *may* be allowed for
 * the fuzzing principal (alice, role reader). It errs towards "may": the fuzz checks
 * that nothing it rules out is ever allowed.
 */

export interface Baseline {
  readonly token: string;
  readonly session: string;
  readonly server: string;
}

/** A reader's callable tools in the default catalogue; fs_delete/fs_write are not. */
const READER_TOOLS = new Set(['fs_read', 'fs_list', 'search_docs']);
/** Tools with a `path` argument that must stay under a prefix. */
const PATH_TOOLS: Record<string, string> = { fs_read: '/srv/data/', fs_list: '/srv/data/' };
/** Tools whose catalogue entry names a state-handle argument. */
const HANDLE_ARGUMENT: Record<string, string> = { search_docs: 'state' };
const OPEN_METHODS = new Set([
  'initialize',
  'ping',
  'transport/stream',
  'transport/close',
  'transport/response',
  'tools/list',
  'prompts/list',
  'resources/list',
]);
const READER_PROMPTS = new Set(['summarize']);

/**
 * The policy's traversal check, from its documentation: NUL, or a `..` segment once %2e,
 * %2f, %5c and `\` are decoded.
 */
export function unsafePath(s: string): boolean {
  if (s.includes('\u0000')) return true;
  const decoded = s
    .toLowerCase()
    .replaceAll('%2e', '.')
    .replaceAll('%2f', '/')
    .replaceAll('%5c', '/')
    .replaceAll('\\', '/');
  return decoded.split('/').includes('..');
}

/**
 * Whether `candidate` is the same JWS as `original`: the signing input (header and
 * payload text) identical, and the signature decoding to the same bytes. base64url
 * leaves spare bits in a last character, so two spellings of one signature exist.
 */
export function sameJws(candidate: unknown, original: string): boolean {
  if (typeof candidate !== 'string') return false;
  const a = candidate.split('.');
  const b = original.split('.');
  if (a.length !== 3 || b.length !== 3) return false;
  if (a[0] !== b[0] || a[1] !== b[1]) return false;
  return Buffer.from(a[2] as string, 'base64url').equals(Buffer.from(b[2] as string, 'base64url'));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why the body must be denied, or null when it may be allowed. */
export function mustDeny(body: unknown, base: Baseline): string | null {
  if (!isObject(body)) return 'not an object';
  if (!sameJws(body.token, base.token)) return 'token changed';
  if (body.server !== base.server) return 'server changed';
  if (body.session !== undefined && body.session !== base.session) return 'session changed';
  const mcp = body.mcp;
  if (!isObject(mcp) || typeof mcp.method !== 'string') return 'no mcp.method';
  const params = isObject(mcp.params) ? mcp.params : {};
  const args = isObject(params.arguments) ? params.arguments : undefined;
  const method = mcp.method;
  if (method === 'tools/call') {
    const tool = params.name;
    if (typeof tool !== 'string' || !READER_TOOLS.has(tool)) return 'tool not callable by a reader';
    const handleArg = typeof mcp.handle_argument === 'string' ? mcp.handle_argument : HANDLE_ARGUMENT[tool];
    // Any value in the handle argument is presented as a handle; none is valid here.
    if (handleArg !== undefined && args !== undefined && Object.hasOwn(args, handleArg)) return 'a handle is presented';
    const prefix = PATH_TOOLS[tool];
    if (prefix !== undefined) {
      const path = args?.path;
      if (typeof path !== 'string' || !path.startsWith(prefix) || unsafePath(path)) return 'path outside the prefix';
    }
    return null;
  }
  if (OPEN_METHODS.has(method) || method.startsWith('notifications/')) return null;
  if (method === 'prompts/get')
    return typeof params.name === 'string' && READER_PROMPTS.has(params.name) ? null : 'prompt not permitted';
  if (method === 'resources/read') {
    const uri = params.uri;
    return typeof uri === 'string' && uri.startsWith('file:///srv/data/') && !unsafePath(uri)
      ? null
      : 'resource not permitted';
  }
  return 'method not permitted';
}
