import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Header } from 'tar';
import { parseBundle, readBundleFile } from '../../src/policy/bundle.ts';
import { loadPolicyEngine } from '../../src/policy/engine.ts';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';

const MAX = 64 << 20;

/** A tar archive from raw entries, so tests can build hostile ones. */
function tarOf(entries: { path: string; body?: string; type?: 'File' | 'SymbolicLink'; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = Buffer.alloc(512);
    new Header({
      path: e.path,
      mode: 0o644,
      size: e.type === 'SymbolicLink' ? 0 : body.length,
      type: e.type ?? 'File',
      linkpath: e.linkpath ?? '',
      mtime: new Date(0),
    }).encode(header, 0);
    blocks.push(header);
    if (e.type !== 'SymbolicLink' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe('bundle reader', () => {
  it('reads the committed default bundle: manifest, wasm, data', async () => {
    const bundle = await readBundleFile(DEFAULT_BUNDLE, MAX);
    expect(bundle.entrypoints).toEqual(expect.arrayContaining(['mcp/authz/decision', 'mcp/session/grant']));
    expect(Buffer.from(bundle.wasm.subarray(0, 4)).toString('hex')).toBe('0061736d');
    expect(bundle.data).toHaveProperty('catalogue');
  });

  it('refuses data that is not gzip', async () => {
    await expect(parseBundle(Buffer.from('not a bundle'), MAX)).rejects.toMatchObject({ code: 'bundle_invalid' });
  });

  it('refuses a missing file with bundle_invalid', async () => {
    await expect(readBundleFile('/nonexistent/bundle.tar.gz', MAX)).rejects.toMatchObject({ code: 'bundle_invalid' });
  });

  it('refuses an archive that decompresses past the limit', async () => {
    const bomb = gzipSync(tarOf([{ path: 'data.json', body: ' '.repeat(200_000) }]));
    expect(bomb.length).toBeLessThan(2_000);
    await expect(parseBundle(bomb, 100_000)).rejects.toThrow(/decompresses past 100000 bytes/);
  });

  it('refuses entries that climb out of the bundle root', async () => {
    const evil = gzipSync(
      tarOf([
        { path: '../../etc/passwd', body: 'x' },
        { path: 'policy.wasm', body: 'x' },
      ]),
    );
    await expect(parseBundle(evil, MAX)).rejects.toThrow(/escapes the bundle root/);
  });

  it('refuses links', async () => {
    const evil = gzipSync(tarOf([{ path: 'policy.wasm', type: 'SymbolicLink', linkpath: '/etc/passwd' }]));
    await expect(parseBundle(evil, MAX)).rejects.toThrow(/only files are allowed/);
  });

  it('refuses a bundle without policy.wasm', async () => {
    const gz = gzipSync(tarOf([{ path: 'data.json', body: '{}' }]));
    await expect(parseBundle(gz, MAX)).rejects.toThrow(/no policy.wasm/);
  });

  it('refuses data.json that is not JSON', async () => {
    const gz = gzipSync(
      tarOf([
        { path: 'policy.wasm', body: 'x' },
        { path: 'data.json', body: '{nope' },
      ]),
    );
    await expect(parseBundle(gz, MAX)).rejects.toThrow(/data.json is not valid JSON/);
  });

  it('refuses a bundle whose manifest lacks the required entrypoints', async () => {
    const gz = gzipSync(
      tarOf([
        { path: 'policy.wasm', body: 'x' },
        { path: '.manifest', body: '{"revision":"r"}' },
      ]),
    );
    const bundle = await parseBundle(gz, MAX);
    await expect(loadPolicyEngine(bundle)).rejects.toThrow(/does not declare the entrypoint mcp\/authz\/decision/);
  });

  it('refuses a module that is not WebAssembly', async () => {
    const manifest = JSON.stringify({
      revision: 'r',
      wasm: [
        { entrypoint: 'mcp/authz/decision', module: '/policy.wasm' },
        { entrypoint: 'mcp/session/grant', module: '/policy.wasm' },
      ],
    });
    const gz = gzipSync(
      tarOf([
        { path: 'policy.wasm', body: 'not wasm' },
        { path: '.manifest', body: manifest },
      ]),
    );
    await expect(loadPolicyEngine(await parseBundle(gz, MAX))).rejects.toMatchObject({ code: 'bundle_invalid' });
  });
});
