import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { BundleTrial, trialBundle } from '../../src/policy/trial.ts';
import { ROOT } from '../helpers/paths.ts';
import { bundleFiles, packBundle } from './repack.ts';

const MAX = 64 << 20;
const job = (bytes: Uint8Array, rule = {}) => ({ bytes, maxBytes: MAX, rule });

describe('trialBundle: a bundle checked in a worker thread with a deadline', () => {
  it('answers the revision and signer of a good bundle', async () => {
    await expect(trialBundle(job(readFileSync(DEFAULT_BUNDLE)), 10_000)).resolves.toEqual({
      revision: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{12}$/),
      signer: null,
      unsignedAllowed: false,
    });
  });

  it('carries each refusal code back from the worker', async () => {
    await expect(trialBundle(job(Buffer.from('not gzip')), 10_000)).rejects.toMatchObject({
      code: 'bundle_invalid',
      message: 'bundle is not gzip data',
    });
    const files = await bundleFiles(readFileSync(DEFAULT_BUNDLE));
    const manifest = JSON.parse((files.get('.manifest') as Buffer).toString()) as object;
    files.set('.manifest', Buffer.from(JSON.stringify({ ...manifest, roots: ['mcp'] })));
    await expect(trialBundle(job(packBundle(files)), 10_000)).rejects.toMatchObject({ code: 'bundle_outside_roots' });
    const trust = {
      keys: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'l8BzkbJwyg3qCPGHTL5xU1ywgEFnt1ccpy7HfrU0xPE', kid: 'k1' }] },
    };
    await expect(trialBundle(job(readFileSync(DEFAULT_BUNDLE), { trust }), 10_000)).rejects.toMatchObject({
      code: 'bundle_unsigned',
    });
    await expect(
      trialBundle(job(readFileSync(DEFAULT_BUNDLE), { trust, allowUnsigned: true }), 10_000),
    ).resolves.toMatchObject({ unsignedAllowed: true });
  });

  it('stops a bundle whose load spins at the deadline (bundle_load_timeout); this thread runs on', async () => {
    const hostile = readFileSync(join(ROOT, 'test/fuzz/corpus/loops-in-set-data.tar.gz'));
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    const outcome = await trialBundle(job(hostile), 500).catch((err: { code?: string; message?: string }) => err);
    clearInterval(ticker);
    expect(outcome).toMatchObject({
      code: 'bundle_load_timeout',
      message: 'the bundle did not load and evaluate within 500 ms (policy.load_timeout_ms)',
    });
    expect(ticks).toBeGreaterThan(0);
  });

  it('keeps its worker from run to run, and after a timeout a fresh worker answers the next run', async () => {
    const trial = new BundleTrial();
    try {
      const good = readFileSync(DEFAULT_BUNDLE);
      await expect(trial.run(job(good), 10_000)).resolves.toMatchObject({ unsignedAllowed: false });
      await expect(trial.run(job(Buffer.from('x')), 10_000)).rejects.toMatchObject({ code: 'bundle_invalid' });
      await expect(
        trial.run(job(readFileSync(join(ROOT, 'test/fuzz/corpus/loops-in-set-data.tar.gz'))), 500),
      ).rejects.toMatchObject({ code: 'bundle_load_timeout' });
      await expect(trial.run(job(good), 10_000)).resolves.toMatchObject({ revision: expect.any(String) });
    } finally {
      await trial.close();
    }
  });
});
