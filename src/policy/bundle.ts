import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { z } from 'zod';
import { BundleInvalid } from '../errors.ts';

/** The parts of an OPA bundle mcp-warden uses. */
export interface Bundle {
  readonly revision: string;
  readonly wasm: Uint8Array;
  readonly data: Record<string, unknown>;
  /** Entrypoints the manifest declares for the WASM module. */
  readonly entrypoints: readonly string[];
  /** The paths of `data` the bundle owns (`.manifest` `roots`); `['']`, all of it, when absent. */
  readonly roots: readonly string[];
  /** Every regular file in the archive, by its path without a leading slash. */
  readonly files: ReadonlyMap<string, Buffer>;
}

const manifestSchema = z.looseObject({
  revision: z.string().default(''),
  roots: z.array(z.string()).optional(),
  wasm: z.array(z.looseObject({ entrypoint: z.string(), module: z.string() })).optional(),
});

/** Reads a bundle file from disk; see {@link parseBundle}. */
export async function readBundleFile(path: string, maxBytes: number): Promise<Bundle> {
  return parseBundle(await readBundleBytes(path), maxBytes);
}

/** The raw bytes of a bundle file; a file that cannot be read is `bundle_invalid`. */
export async function readBundleBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new BundleInvalid(`cannot read bundle ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * Parses an OPA bundle (tar.gz with `.manifest`, `policy.wasm`, `data.json`). Refuses
 * archives that decompress past `maxBytes`, and entries that are links or whose path is
 * absolute after OPA's leading slash, or climbs with `..`.
 */
export async function parseBundle(gz: Uint8Array, maxBytes: number): Promise<Bundle> {
  let tarball: Buffer;
  try {
    tarball = gunzipSync(gz, { maxOutputLength: maxBytes });
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
    throw new BundleInvalid(tooBig ? `bundle decompresses past ${maxBytes} bytes` : 'bundle is not gzip data');
  }
  const files = await untar(tarball);
  const manifest = parseJsonFile(files, '.manifest', manifestSchema, { revision: '' });
  const wasmEntry = manifest.wasm?.[0];
  const wasmPath = wasmEntry ? wasmEntry.module.replace(/^\//, '') : 'policy.wasm';
  const wasm = files.get(wasmPath);
  if (wasm === undefined) throw new BundleInvalid(`bundle has no ${wasmPath}`);
  const data = parseJsonFile(files, 'data.json', z.record(z.string(), z.unknown()), {});
  return {
    revision: manifest.revision,
    wasm,
    data,
    entrypoints: (manifest.wasm ?? []).map((w) => w.entrypoint),
    roots: manifest.roots ?? [''],
    files,
  };
}

function parseJsonFile<T>(files: ReadonlyMap<string, Buffer>, name: string, schema: z.ZodType<T>, absent: T): T {
  const raw = files.get(name);
  if (raw === undefined) return absent;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BundleInvalid(`bundle file ${name} is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BundleInvalid(`bundle file ${name} has the wrong shape`);
  return parsed.data;
}

async function untar(tarball: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  let failure: BundleInvalid | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry(entry: ReadEntry) {
      const path = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
      const problem = entryProblem(entry, path);
      if (problem !== undefined) {
        failure ??= new BundleInvalid(problem);
        entry.resume();
        return;
      }
      if (entry.type === 'Directory') {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => files.set(path, Buffer.concat(chunks)));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', (err: Error) => reject(new BundleInvalid(`bundle is not a valid tar archive: ${err.message}`)));
    parser.on('end', () => resolve());
    parser.end(tarball);
  });
  if (failure) throw failure;
  return files;
}

function entryProblem(entry: ReadEntry, path: string): string | undefined {
  if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory') {
    return `bundle entry ${entry.path} is a ${entry.type}; only files are allowed`;
  }
  if (path.split('/').includes('..') || path.includes('\\') || path.includes('\0')) {
    return `bundle entry ${entry.path} escapes the bundle root`;
  }
  return undefined;
}
