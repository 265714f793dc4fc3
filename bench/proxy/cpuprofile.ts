import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** µs, on the same monotonic clock as `process.hrtime` (CLOCK_MONOTONIC on Linux). */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** `functionName url:line`. */
  readonly name: string;
  readonly us: number;
}

export interface ProfileSummary {
  /** µs of samples inside the window that were not `(idle)` / `(program)`-idle. */
  readonly busyUs: number;
  readonly idleUs: number;
  /** Whether the window was applied (false: it did not overlap the profile, every sample counted). */
  readonly windowed: boolean;
  /** Self time per callFrame functionName + url (+ line, to tell anonymous functions apart), most first. */
  readonly functions: readonly SelfTime[];
  /** Self time per area: a package under node_modules, a file of src/, `node:` internals, or a V8 pseudo-frame. */
  readonly areas: readonly SelfTime[];
  /** Every sample in one part of a proxied call, by its whole stack (see {@link PARTS}), most first. */
  readonly parts: readonly SelfTime[];
}

type Match = (frame: CallFrame) => boolean;
const inUrl =
  (...parts: string[]): Match =>
  (f) =>
    parts.some((p) => f.url.includes(p));
const named =
  (...names: string[]): Match =>
  (f) =>
    names.includes(f.functionName);

/**
 * The parts of a proxied call, first match wins: a sample belongs to the first part any
 * frame of its stack matches (so the socket write under undici counts as the upstream
 * request, the one under `connectionCorkNT` as the answer to the client).
 */
const PARTS: ReadonlyArray<readonly [string, Match]> = [
  ['policy evaluation (opa-wasm)', inUrl('opa-wasm', 'wasm://wasm/opa')],
  ['audit: seal (canonicalize, sha256) + file writes', inUrl('/src/audit/', 'canonicalize', 'internal/fs/')],
  [
    'rest of decide(): token verify, sessions, input, record',
    inUrl(
      '/src/decision/',
      '/src/identity/',
      '/src/session/',
      '/src/policy/',
      '/src/sdk/',
      'node_modules/jose/',
      'node_modules/zod/',
    ),
  ],
  ['upstream request + response head (undici pool)', inUrl('node_modules/undici/')],
  [
    'relay to the client (stream pipeline, SSE, response writes)',
    (f) =>
      inUrl(
        '/src/proxy/respond.ts',
        '/src/proxy/list-responses.ts',
        'internal/streams/',
        'node:_http_outgoing',
        'eventsource-parser',
      )(f) || named('connectionCorkNT')(f),
  ],
  ['proxy endpoint (parse, session map, verdicts)', inUrl('/src/proxy/')],
  [
    'fastify (routing, hooks, reply)',
    inUrl(
      'node_modules/fastify',
      'node_modules/find-my-way',
      'node_modules/avvio',
      'node_modules/light-my-request',
      'node_modules/@fastify/',
    ),
  ],
  [
    'node HTTP server (parser, sockets)',
    (f) =>
      inUrl('node:_http_server', 'node:_http_common', 'node:net', 'node:internal/stream_base_commons')(f) ||
      named('HTTPParser', 'onStreamRead')(f),
  ],
  ['garbage collector', named('(garbage collector)')],
  ['(program): V8/native outside JS', named('(program)')],
];

/**
 * Sums the self time of a V8 `.cpuprofile` per function and per area, counting only the
 * samples taken inside `[fromUs, toUs]` (monotonic µs, as `process.hrtime.bigint() / 1000n`
 * in the process that drove the load), so startup and shutdown stay out.
 */
export function summarizeProfile(file: string, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const windowed = window !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  const parts = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let busyUs = 0;
  let idleUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    // Each sample stands for the interval up to the next one.
    const weight = profile.timeDeltas[i + 1] ?? 0;
    if (windowed && (at < window.fromUs || at > window.toUs)) continue;
    const leaf = byId.get(profile.samples[i] as number) as ProfileNode;
    const frame = leaf.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += weight;
      continue;
    }
    busyUs += weight;
    const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + weight);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + weight);
    const stack: CallFrame[] = [];
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id))
      stack.push((byId.get(id) as ProfileNode).callFrame);
    const part = PARTS.find(([, match]) => stack.some(match))?.[0] ?? 'other';
    parts.set(part, (parts.get(part) ?? 0) + weight);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([name, us]) => ({ name, us })).sort((a, b) => b.us - a.us);
  return { busyUs, idleUs, windowed, functions: sorted(functions), areas: sorted(areas), parts: sorted(parts) };
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.lastIndexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] as string);
  }
  if (url.startsWith('node:')) {
    // node:internal/deps/undici/... is undici bundled into Node (global fetch), not the proxy's.
    const name = url.slice('node:'.length);
    return `node:${
      name.startsWith('internal/deps/')
        ? name.split('/').slice(0, 3).join('/')
        : name
            .split('/')
            .slice(0, name.startsWith('internal/') ? 2 : 1)
            .join('/')
    }`;
  }
  const src = url.lastIndexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url;
}
