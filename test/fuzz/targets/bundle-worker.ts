import { parentPort } from 'node:worker_threads';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { parseBundle } from '../../../src/policy/bundle.ts';
import { loadPolicyEngine } from '../../../src/policy/engine.ts';

/**
 * The bundle reader in a worker thread, so that the fuzz can time out an input that
 * never returns: the reader and opa-wasm's loader are synchronous once they run (a
 * mutated module can loop in `setData`), and only terminating the thread stops them.
 */
export interface BundleJob {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly limit: number;
  readonly load: boolean;
}

export type BundleReply =
  | {
      readonly id: number;
      readonly kind: 'parsed';
      readonly paths: string[];
      readonly total: number;
      readonly hasWasm: boolean;
      readonly revision: unknown;
      readonly loaded: null | { ok: true } | { ok: false; name: string; code: string | undefined; message: string };
    }
  | {
      readonly id: number;
      readonly kind: 'refused';
      readonly name: string;
      readonly code: string | undefined;
      readonly message: string;
    }
  | { readonly id: number; readonly kind: 'heap'; readonly heapUsed: number };

const failure = (err: unknown) => ({
  name: (err as Error)?.constructor?.name ?? typeof err,
  code: (err as { code?: string })?.code,
  message: String((err as Error)?.message ?? err).slice(0, 300),
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

parentPort!.on('message', async (job: BundleJob | { id: number; heap: true }) => {
  if ('heap' in job) {
    gc();
    gc();
    parentPort!.postMessage({
      id: job.id,
      kind: 'heap',
      heapUsed: process.memoryUsage().heapUsed,
    } satisfies BundleReply);
    return;
  }
  try {
    const bundle = await parseBundle(Buffer.from(job.bytes), job.limit);
    let total = 0;
    for (const f of bundle.files.values()) total += f.length;
    let loaded: Extract<BundleReply, { kind: 'parsed' }>['loaded'] = null;
    if (job.load) {
      try {
        await loadPolicyEngine(bundle);
        loaded = { ok: true };
      } catch (err) {
        loaded = { ok: false, ...failure(err) };
      }
    }
    parentPort!.postMessage({
      id: job.id,
      kind: 'parsed',
      paths: [...bundle.files.keys()],
      total,
      hasWasm: bundle.wasm instanceof Uint8Array,
      revision: bundle.revision,
      loaded,
    } satisfies BundleReply);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, kind: 'refused', ...failure(err) } satisfies BundleReply);
  }
});
