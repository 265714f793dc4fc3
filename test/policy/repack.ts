import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Parser, type ReadEntry } from 'tar';

/** What to change in a re-packed bundle. */
export interface Repack {
  /** The manifest's new revision. */
  readonly revision?: string;
  /** Further manifest fields (e.g. `roots`), merged over the old ones. */
  readonly manifest?: Record<string, unknown>;
  /** Files to add or replace, by archive path without the leading slash. */
  readonly files?: Readonly<Record<string, string>>;
}

/** The regular files of a bundle, by path without the leading slash. */
export async function bundleFiles(gz: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const parser = new Parser({
    onReadEntry(entry: ReadEntry) {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => files.set(entry.path.replace(/^\/+/, ''), Buffer.concat(chunks)));
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', reject);
    parser.end(gunzipSync(gz));
  });
  return files;
}

/** A gzipped tar of `files`, with OPA's leading slash. */
export function packBundle(files: ReadonlyMap<string, Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, body] of files) {
    const header = Buffer.alloc(512);
    new Header({ path: `/${path}`, mode: 0o644, size: body.length, type: 'File', mtime: new Date(0) }).encode(
      header,
      0,
    );
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** Writes `source` re-packed with `change` (unsigned: a signature would no longer match) to `out`. */
export async function repackBundle(source: string, out: string, change: Repack): Promise<string> {
  const files = await bundleFiles(readFileSync(source));
  files.delete('.signatures.json');
  const manifest = JSON.parse((files.get('.manifest') as Buffer).toString('utf8')) as Record<string, unknown>;
  const revision = change.revision ?? manifest.revision;
  files.set('.manifest', Buffer.from(JSON.stringify({ ...manifest, ...change.manifest, revision })));
  for (const [path, body] of Object.entries(change.files ?? {})) files.set(path, Buffer.from(body));
  writeFileSync(out, packBundle(files));
  return out;
}
