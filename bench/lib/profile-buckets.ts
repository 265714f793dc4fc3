/** A V8 profile call frame. */
export interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** A named share of the time: matches a sample's stack (leaf first). */
export interface Bucket {
  name: string;
  match(stack: readonly Frame[]): boolean;
}

type Pred = (f: Frame) => boolean;
const fn =
  (name: string, url?: string): Pred =>
  (f) =>
    f.functionName === name && (url === undefined || f.url.includes(url));
const any =
  (...preds: Pred[]): Pred =>
  (f) =>
    preds.some((p) => p(f));
const under = (pred: Pred) => (stack: readonly Frame[]) => stack.some(pred);
const leaf = (pred: Pred) => (stack: readonly Frame[]) => stack[0] !== undefined && pred(stack[0]);
const all =
  (...ms: Bucket['match'][]) =>
  (stack: readonly Frame[]) =>
    ms.every((m) => m(stack));

const inEvaluate = under(fn('evaluate', 'opa-wasm'));
const sha256 = any(fn('createHash'), fn('Hash', 'crypto'), fn('update', 'crypto'), fn('digest', 'crypto'));

/** Buckets for bench/analyze-profile.ts; nested names (indented) are parts of the row above. */
export const BUCKETS: readonly Bucket[] = [
  { name: 'decide() total', match: under(fn('decide', 'src/decision/decide.ts')) },
  { name: 'policy: engine evaluate() (opa-wasm + zod)', match: under(fn('evaluate', 'src/policy/engine.ts')) },
  { name: '  opa-wasm LoadedPolicy.evaluate', match: inEvaluate },
  { name: '    JSON.stringify(input) + copy to wasm memory (its self time)', match: leaf(fn('evaluate', 'opa-wasm')) },
  { name: '    TextEncoder.encode(input)', match: all(inEvaluate, under(fn('encode', 'internal/encoding'))) },
  { name: '    opa_eval (all wasm)', match: under(fn('opa_eval')) },
  {
    name: '      wasm: parse the input JSON',
    match: all(under(fn('opa_eval')), under(any(fn('opa_json_parse_token'), fn('opa_value_parse')))),
  },
  {
    name: '      wasm: policy rules',
    match: all(under(fn('opa_eval')), under(any(fn('eval'), (f) => f.functionName.startsWith('g0.data.')))),
  },
  {
    name: '      wasm: dump the result JSON',
    match: all(under(fn('opa_eval')), under(any(fn('opa_json_dump'), fn('opa_json_writer_write')))),
  },
  {
    name: '    read the result (_dumpJSONRaw: NUL scan, TextDecoder, JSON.parse)',
    match: under(fn('_dumpJSONRaw', 'opa-wasm')),
  },
  {
    name: '  zod output parsing (src/policy/output.ts)',
    match: all(
      under(fn('evaluate', 'src/policy/engine.ts')),
      under((f) => f.url.includes('zod')),
    ),
  },
  { name: 'verifier.verify, cache hit', match: under(fn('verify', 'src/identity/verifier.ts')) },
  {
    name: '  sha256 of the token (createHash)',
    match: all(under(fn('verify', 'src/identity/verifier.ts')), under(sha256)),
  },
  { name: '  jose (should be 0 with a warm cache)', match: under((f) => f.url.includes('node_modules/jose')) },
  { name: 'hashSessionId (sha256 of the session id)', match: under(fn('hashSessionId')) },
  {
    name: 'session store get + checkSession + touch',
    match: under(any(fn('loadSession'), fn('touch', 'memory-store'))),
  },
  { name: 'randomUUID', match: under(fn('randomUUID')) },
  { name: 'decisionRecord (Date ISO string + record)', match: under(fn('decisionRecord')) },
  { name: 'audit append (JSON.stringify + stream.write)', match: under(fn('append', 'file-sink')) },
  {
    name: 'audit file stream (writev, completion callbacks)',
    match: under((f) => f.url.includes('internal/fs/streams') || f.functionName === 'FSReqCallback'),
  },
  { name: 'GC', match: leaf(fn('(garbage collector)')) },
  // HTTP only (bench/profile-http.ts).
  {
    name: 'HTTP: fastify request handling (synchronous part)',
    match: under((f) => f.url.includes('node_modules/fastify/')),
  },
  { name: 'HTTP: body JSON.parse (secure-json-parse)', match: under((f) => f.url.includes('secure-json-parse')) },
  // Lines of fastify-type-provider-zod 7's dist/esm/core.js: the validator and the serializer closures.
  {
    name: 'HTTP: zod body validation',
    match: under((f) => f.url.includes('fastify-type-provider-zod') && f.lineNumber + 1 === 104),
  },
  {
    name: 'HTTP: zod response encode + JSON.stringify',
    match: under((f) => f.url.includes('fastify-type-provider-zod') && f.lineNumber + 1 === 116),
  },
  {
    name: 'HTTP: node http parser + socket writes',
    match: under((f) => /^node:(_http_|net)/.test(f.url) || f.functionName === 'writeUtf8String'),
  },
];
