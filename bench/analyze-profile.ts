// Aggregates a V8 .cpuprofile: top functions by self time, and the share of time spent
// under given "buckets" (any frame of the stack matches), counting each sample once.
//   node bench/analyze-profile.ts <file.cpuprofile> [--top 15] [--skip-warmup-ms 1000] [--per-op-us 63]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BUCKETS, type Frame } from './lib/profile-buckets.ts';

interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '15' },
    'skip-warmup-ms': { type: 'string', default: '1000' },
    /** Busy µs per operation (1e6 / ops per s): adds a µs-per-operation column. */
    'per-op-us': { type: 'string' },
  },
});
const file = positionals[0];
if (file === undefined)
  throw new Error('usage: analyze-profile.ts <file.cpuprofile> [--top N] [--skip-warmup-ms MS] [--per-op-us US]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (f: Frame) =>
  `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
const self = new Map<string, number>();
const inBucket = new Map<string, number>();
let total = 0;
let idle = 0;
let elapsed = 0;
const skipUs = Number(values['skip-warmup-ms']) * 1000;

// timeDeltas[i] is the time before sample i; weight each sample by the gap after it.
for (let i = 0; i < profile.samples.length; i++) {
  elapsed += profile.timeDeltas[i] ?? 0;
  const weight = profile.timeDeltas[i + 1] ?? 0;
  if (elapsed < skipUs) continue;
  const leaf = byId.get(profile.samples[i] as number) as Node;
  const name = leaf.callFrame.functionName;
  if (name === '(idle)') {
    idle += weight;
    continue;
  }
  total += weight;
  self.set(label(leaf.callFrame), (self.get(label(leaf.callFrame)) ?? 0) + weight);
  const stack: Frame[] = [];
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id))
    stack.push((byId.get(id) as Node).callFrame);
  for (const bucket of BUCKETS) {
    if (bucket.match(stack)) inBucket.set(bucket.name, (inBucket.get(bucket.name) ?? 0) + weight);
  }
}

const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
const perOp = values['per-op-us'] === undefined ? undefined : Number(values['per-op-us']);
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`busy ${ms(total)} ms, idle ${ms(idle)} ms (after skipping the first ${values['skip-warmup-ms']} ms)\n`);
console.log(`top ${values.top} by self time (share of busy time)`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`${pct(us)} ${ms(us)} ms  ${name}`);
}
console.log('\nbuckets (inclusive; a sample counts once per bucket; buckets overlap where nested)');
for (const bucket of BUCKETS) {
  const us = inBucket.get(bucket.name) ?? 0;
  const each = perOp === undefined ? '' : `${((us / total) * perOp).toFixed(1).padStart(6)} µs/op `;
  console.log(`${pct(us)} ${ms(us)} ms ${each} ${bucket.name}`);
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\/\/work\/main\//, '');
}
