import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Header } from 'tar';
import { DEFAULT_BUNDLE } from '../../../src/config/policy.ts';
import { trialBundle } from '../../../src/policy/trial.ts';
import { count, type FuzzTarget } from '../harness.ts';
import type { BundleJob, BundleReply } from './bundle-worker.ts';

/** The decompression limit of the fuzz (the service's default is 64 MiB; a smaller one reaches the limit cheaply). */
const LIMIT = 4 << 20;
/** Longest a single parse (and load) may take before it counts as a hang. */
const HANG_MS = 5_000;
/** The reload deadline the service's check of a stalling input is run with. */
const TRIAL_MS = 2_000;

type EntryType =
  | 'File'
  | 'OldFile'
  | 'Directory'
  | 'SymbolicLink'
  | 'Link'
  | 'CharacterDevice'
  | 'BlockDevice'
  | 'FIFO'
  | 'ContiguousFile'
  | 'ExtendedHeader'
  | 'GlobalExtendedHeader'
  | 'NextFileHasLongPath'
  | 'NextFileHasLongLinkpath';

interface Entry {
  readonly path: string;
  readonly type: EntryType;
  readonly body: Uint8Array | { zeros: number } | string;
  readonly linkpath: string;
}

/** ustar header fields: [offset, length]. */
const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  type: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  prefix: [345, 155],
} as const;

type TarEdit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'field'; header: number; field: keyof typeof FIELDS; value: string; fixChecksum: boolean }
  | { kind: 'insert'; before: number; entries: Entry[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'dropEnd' };

type Case =
  | {
      layer: 'gzip';
      edit:
        | { kind: 'truncate'; at: number }
        | { kind: 'flip'; at: number; bit: number }
        | { kind: 'append'; bytes: Uint8Array }
        | { kind: 'concat' };
    }
  | { layer: 'tar'; edits: TarEdit[]; load: boolean };

function bodyBytes(body: Entry['body']): Buffer {
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  return Buffer.alloc(body.zeros);
}

/** Raw tar blocks for entries, hostile ones included (links, devices, pax headers). */
function tarEntries(entries: readonly Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = bodyBytes(e.body);
    const header = Buffer.alloc(512);
    new Header({
      path: e.path,
      mode: 0o644,
      size: body.length,
      type: e.type,
      linkpath: e.linkpath,
      mtime: new Date(0),
    }).encode(header, 0);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat(blocks);
}

/** Offsets of the header blocks of a well-formed tar, then of its end-of-archive blocks. */
function headerOffsets(tar: Buffer): number[] {
  const offsets: number[] = [];
  let at = 0;
  while (at + 512 <= tar.length && tar[at] !== 0) {
    offsets.push(at);
    const size = parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString()
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    at += 512 + Math.ceil(size / 512) * 512;
  }
  offsets.push(at);
  return offsets;
}

function writeChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += tar[i] as number;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

function applyTar(original: Buffer, offsets: number[], edits: readonly TarEdit[]): Buffer {
  let tar = Buffer.from(original);
  for (const e of edits) {
    switch (e.kind) {
      case 'flip': {
        const i = e.at % tar.length;
        tar[i] = (tar[i] as number) ^ (1 << e.bit);
        break;
      }
      case 'field': {
        const at = offsets[e.header % (offsets.length - 1)] as number;
        if (at + 512 > tar.length) break;
        const [off, len] = FIELDS[e.field];
        tar.fill(0, at + off, at + off + len);
        tar.write(e.value.slice(0, len), at + off, 'latin1');
        if (e.fixChecksum) writeChecksum(tar, at);
        break;
      }
      case 'insert': {
        const at = offsets[e.before % offsets.length] as number;
        tar = Buffer.concat([tar.subarray(0, at), tarEntries(e.entries), tar.subarray(at)]);
        break;
      }
      case 'truncate':
        tar = tar.subarray(0, e.at % (tar.length + 1));
        break;
      case 'dropEnd':
        while (tar.length >= 512 && tar.subarray(tar.length - 512).every((b) => b === 0))
          tar = tar.subarray(0, tar.length - 512);
        break;
    }
  }
  return tar;
}

const hostilePath = fc.oneof(
  fc.constantFrom(
    'policy.wasm',
    '/policy.wasm',
    '.manifest',
    '/.manifest',
    'data.json',
    '/data.json',
    '../../etc/passwd',
    '/etc/passwd',
    'a/../../b',
    '..',
    '.',
    'a\\..\\b',
    'policy.wasm\u0000.txt',
    'x'.repeat(300),
    'dir/',
    './policy.wasm',
    '//policy.wasm',
    'ünï/çødé',
  ),
  fc.string({ maxLength: 120 }),
);
const entryArb: fc.Arbitrary<Entry> = fc.record({
  path: hostilePath,
  type: fc.oneof(
    { weight: 4, arbitrary: fc.constant('File' as const) },
    fc.constantFrom<EntryType>(
      'OldFile',
      'Directory',
      'SymbolicLink',
      'Link',
      'CharacterDevice',
      'BlockDevice',
      'FIFO',
      'ContiguousFile',
      'ExtendedHeader',
      'GlobalExtendedHeader',
      'NextFileHasLongPath',
      'NextFileHasLongLinkpath',
    ),
  ),
  body: fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.constantFrom(
      '{}',
      '{"revision":"fuzz","wasm":[{"entrypoint":"mcp/authz/decision","module":"/policy.wasm"}]}',
      '[]',
      'null',
      '{"revision":5}',
      '30 path=../../etc/passwd\n',
      '22 size=99999999999\n',
      '19 path=/abs/olute\n',
    ),
    fc.constantFrom(LIMIT - 4096, LIMIT + 1, 1 << 20).map((zeros) => ({ zeros })),
  ),
  linkpath: fc.constantFrom('', '/etc/passwd', '../../x', 'policy.wasm'),
});
const fieldValue = fc.oneof(
  fc.constantFrom(
    '77777777777',
    '99999999999',
    '-1',
    '',
    '0',
    '\u0080\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u00ff\u00ff\u00ff\u00ff',
    '1',
    '2',
    '3',
    '4',
    '5',
    '6',
    '7',
    'x',
    'g',
    'L',
    'K',
    'S',
    'V',
    'M',
    '../../etc/passwd',
    '/etc/shadow',
    'ustar',
    'ustar\u000000',
  ),
  fc.string({ maxLength: 20 }),
);
const tarEdit: fc.Arbitrary<TarEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('field' as const),
      header: fc.nat(),
      field: fc.constantFrom(...(Object.keys(FIELDS) as (keyof typeof FIELDS)[])),
      value: fieldValue,
      fixChecksum: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      before: fc.nat(),
      entries: fc.array(entryArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant({ kind: 'dropEnd' as const }),
);
const caseArb: fc.Arbitrary<Case> = fc.oneof(
  fc.record({
    layer: fc.constant('gzip' as const),
    edit: fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      fc.constant({ kind: 'concat' as const }),
    ),
  }),
  {
    weight: 4,
    arbitrary: fc.record({
      layer: fc.constant('tar' as const),
      edits: fc.array(tarEdit, { minLength: 1, maxLength: 3 }),
      load: fc.boolean(),
    }),
  },
);

function checkParsed(r: Extract<BundleReply, { kind: 'parsed' }>): void {
  for (const path of r.paths) {
    if (path.startsWith('/') || path.split('/').includes('..') || path.includes('\\') || path.includes('\0'))
      throw new Error(`unsafe entry accepted: ${JSON.stringify(path)}`);
  }
  if (!r.hasWasm || typeof r.revision !== 'string') throw new Error('a bundle without wasm or revision');
  if (r.total > LIMIT) throw new Error(`a bundle of ${r.total} bytes passed the ${LIMIT} limit`);
}

/** One long-lived worker running the reader; an input it does not answer within HANG_MS is a hang. */
class ReaderThread {
  #worker = this.#spawn();
  #next = 0;
  readonly #waiting = new Map<number, (r: BundleReply) => void>();

  #spawn(): Worker {
    const worker = new Worker(new URL('./bundle-worker.ts', import.meta.url));
    worker.on('message', (r: BundleReply) => {
      this.#waiting.get(r.id)?.(r);
      this.#waiting.delete(r.id);
    });
    worker.unref();
    return worker;
  }

  ask(job: Omit<BundleJob, 'id'> | { heap: true }): Promise<BundleReply> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        // Only terminating the thread stops a synchronous loop; a fresh one takes over.
        void this.#worker.terminate();
        this.#worker = this.#spawn();
        reject(new Error(`HANG: the reader did not return within ${HANG_MS} ms`));
      }, HANG_MS);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.#worker.postMessage({ id, ...job });
    });
  }

  close(): Promise<number> {
    return this.#worker.terminate();
  }
}

/**
 * The bundle reader (`parseBundle`, and `loadPolicyEngine` on what it accepts) on mutated
 * archives of the committed bundle, in a worker thread so that a hang is caught. An input
 * that hangs is written to `<tmpdir>/mcp-warden-fuzz-hang-<n>.tar.gz` for a regression test.
 */
export const bundleTarget: FuzzTarget = {
  name: 'bundle reader (parseBundle + loadPolicyEngine)',
  invariant:
    'every archive is a valid bundle (no unsafe path, within the size limit) or a BundleInvalid ' +
    '(bundle_invalid); an accepted one loads or fails with bundle_invalid; no parse takes over 5 s, and ' +
    'a load that does is refused by the reload deadline (bundle_load_timeout); ' +
    "the reader's heap does not grow over the run",
  defaultRuns: 400,
  async open() {
    const gz = readFileSync(DEFAULT_BUNDLE);
    const tar = gunzipSync(gz);
    const offsets = headerOffsets(tar);
    const outcomes = new Map<string, number>();
    const reader = new ReaderThread();
    const heapOf = async () => ((await reader.ask({ heap: true })) as Extract<BundleReply, { kind: 'heap' }>).heapUsed;
    const heapBefore = await heapOf();
    const property = fc.asyncProperty(caseArb, async (c) => {
      let input: Buffer;
      if (c.layer === 'gzip') {
        const e = c.edit;
        if (e.kind === 'truncate') input = gz.subarray(0, e.at % (gz.length + 1));
        else if (e.kind === 'append') input = Buffer.concat([gz, Buffer.from(e.bytes)]);
        else if (e.kind === 'concat') input = Buffer.concat([gz, gz]);
        else {
          input = Buffer.from(gz);
          input[e.at % input.length] = (input[e.at % input.length] as number) ^ (1 << e.bit);
        }
      } else {
        input = gzipSync(applyTar(tar, offsets, c.edits), { level: 1 });
      }
      const load = c.layer === 'tar' && c.load;
      let r: BundleReply;
      try {
        r = await reader.ask({ bytes: input, limit: LIMIT, load });
      } catch (err) {
        const file = join(tmpdir(), `mcp-warden-fuzz-hang-${Date.now()}.tar.gz`);
        writeFileSync(file, input);
        // A corrupted module can spin in opa-wasm's loader (test/fuzz/regressions.test.ts);
        // the service survives that only because the reloader checks a bundle in a worker
        // with a deadline, so that path must refuse this input. A parse that hangs runs on
        // the event loop too, and fails the target whatever the reloader does.
        const guarded = load
          ? await trialBundle({ bytes: input, maxBytes: LIMIT, rule: {} }, TRIAL_MS).catch(
              (e: { code?: string }) => e.code,
            )
          : null;
        if (guarded === 'bundle_load_timeout') {
          count(outcomes, 'tar: load stalls past 5 s, refused by the reload deadline (input saved)');
          return;
        }
        throw new Error(
          `${(err as Error).message} ` +
            `(${load ? `parse + load; the reload check gave ${JSON.stringify(guarded)}` : 'parse'}); the ` +
            `input is in ${file}`,
        );
      }
      if (r.kind === 'refused') {
        if (r.name !== 'BundleInvalid' || r.code !== 'bundle_invalid')
          throw new Error(`parseBundle threw a non-coded ${r.name}: ${r.message}`);
        count(outcomes, `${c.layer}: bundle_invalid: ${r.message.slice(0, 60).replace(/ \S*[\d/]\S*/g, ' …')}`);
        return;
      }
      if (r.kind !== 'parsed') throw new Error('unexpected reply');
      checkParsed(r);
      if (r.loaded === null) count(outcomes, `${c.layer}: parsed`);
      else if (r.loaded.ok) count(outcomes, `${c.layer}: loaded`);
      else {
        if (r.loaded.name !== 'BundleInvalid')
          throw new Error(`loadPolicyEngine threw a non-coded ${r.loaded.name}: ${r.loaded.message}`);
        count(outcomes, `${c.layer}: load: ${r.loaded.code}`);
      }
    });
    return {
      outcomes,
      check: (parameters) => fc.check(property, parameters as fc.Parameters<[Case]>) as Promise<fc.RunDetails<unknown>>,
      async finish() {
        const growth = (await heapOf()) - heapBefore;
        if (growth > 64 << 20)
          throw new Error(`the reader's heap grew ${(growth / 2 ** 20).toFixed(1)} MiB over the run`);
        return [`reader heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`];
      },
      async close() {
        await reader.close();
      },
    };
  },
};
