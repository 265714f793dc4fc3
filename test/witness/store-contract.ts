import { describe, expect, it } from 'vitest';
import type { WitnessEntry, WitnessStore } from '../../src/witness/store.ts';

/** Opens a store on storage of its own: each call of `open()` for one test reaches the same storage (a restart). */
export type StoreFactory = () => Promise<() => WitnessStore>;

/** An entry of `origin` at `size` (root and note stand-ins: the store does not interpret them). */
export function entry(origin: string, size: number, tag = ''): WitnessEntry {
  return {
    origin,
    size,
    root: Buffer.alloc(32, size).toString('base64'),
    checkpoint: `${origin}\n${size}\nroot${tag}\n\n— log sig${tag}\n`,
    updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, size)).toISOString(),
  };
}

/**
 * The contract every witness store passes: the compare-and-set, listing, persistence, and
 * racing writers — on one instance, or with `shared` (a database) on several at once.
 */
export function describeWitnessStoreContract(
  name: string,
  storage: StoreFactory,
  options: { readonly shared: boolean },
): void {
  describe(`witness store contract: ${name}`, () => {
    async function started(): Promise<{ store: WitnessStore; open: () => WitnessStore }> {
      const open = await storage();
      const store = open();
      await store.start();
      return { store, open };
    }

    it('is empty at first, and NOT_READY until started', async () => {
      const open = await storage();
      const store = open();
      expect((await store.status()).status).toBe('NOT_READY');
      await store.start();
      expect(await store.status()).toEqual({ status: 'OK' });
      expect(await store.get('log/a')).toBeUndefined();
      expect(await store.list()).toEqual([]);
      await store.stop();
    });

    it('compare-and-set: from 0 when absent, then only from the size held', async () => {
      const { store } = await started();
      expect(await store.compareAndSet(3, entry('log/a', 5))).toBe(false);
      expect(await store.get('log/a')).toBeUndefined();
      expect(await store.compareAndSet(0, entry('log/a', 5))).toBe(true);
      expect(await store.get('log/a')).toEqual(entry('log/a', 5));
      expect(await store.compareAndSet(0, entry('log/a', 9))).toBe(false);
      expect(await store.compareAndSet(4, entry('log/a', 9))).toBe(false);
      expect(await store.compareAndSet(5, entry('log/a', 9))).toBe(true);
      expect(await store.compareAndSet(9, entry('log/a', 9, ' again'))).toBe(true);
      expect(await store.get('log/a')).toEqual(entry('log/a', 9, ' again'));
      await store.stop();
    });

    it('a log held at size 0 moves on from old size 0', async () => {
      const { store } = await started();
      expect(await store.compareAndSet(0, entry('log/a', 0))).toBe(true);
      expect(await store.compareAndSet(0, entry('log/a', 4))).toBe(true);
      expect((await store.get('log/a'))?.size).toBe(4);
      await store.stop();
    });

    it('lists by origin, optionally by prefix (no pattern characters)', async () => {
      const { store } = await started();
      for (const origin of ['b/2', 'a/1', 'b/1', 'b_/x', 'b%/y']) await store.compareAndSet(0, entry(origin, 1));
      expect((await store.list()).map((e) => e.origin)).toEqual(['a/1', 'b%/y', 'b/1', 'b/2', 'b_/x']);
      expect((await store.list('b/')).map((e) => e.origin)).toEqual(['b/1', 'b/2']);
      expect((await store.list('b%')).map((e) => e.origin)).toEqual(['b%/y']);
      expect(await store.list('c/')).toEqual([]);
      await store.stop();
    });

    it('keeps its state across a restart', async () => {
      const { store, open } = await started();
      await store.compareAndSet(0, entry('log/a', 7));
      await store.compareAndSet(0, entry('log/b', 2));
      await store.stop();
      const again = open();
      await again.start();
      expect(await again.list()).toEqual([entry('log/a', 7), entry('log/b', 2)]);
      expect(await again.compareAndSet(0, entry('log/a', 9))).toBe(false);
      expect(await again.compareAndSet(7, entry('log/a', 9))).toBe(true);
      await again.stop();
    });

    it('racing writers from the same old size: exactly one wins each round, the size never goes back', async () => {
      const { store, open } = await started();
      // One instance's concurrent calls, or (shared storage) several instances: other witness processes.
      const others = options.shared ? [open(), open(), open()] : [];
      for (const other of others) await other.start();
      const writers = options.shared ? [store, ...others] : [store, store, store, store];
      let size = 0;
      for (let round = 0; round < 10; round++) {
        const won = await Promise.all(writers.map((w, i) => w.compareAndSet(size, entry('log/race', size + 1 + i))));
        expect(won.filter(Boolean)).toHaveLength(1);
        const held = (await store.get('log/race'))!.size;
        expect(held).toBe(size + 1 + won.indexOf(true));
        for (const w of others) expect((await w.get('log/race'))?.size).toBe(held);
        size = held;
      }
      for (const other of others) await other.stop();
      await store.stop();
    });
  });
}
