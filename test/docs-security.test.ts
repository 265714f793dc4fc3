import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.ts';

// docs/security.md names, for every attack, the test that tries it: the table must not
// point at a file or a test that is not there.
describe('docs/security.md', () => {
  it('every test the threat table names exists, with the test names it quotes', () => {
    const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
    const rows = doc.split('\n').filter((line) => /^\| \d+ \|/.test(line));
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const row of rows) {
      const cell = row.split(' | ').at(-1)!;
      const references = [...cell.matchAll(/`(test\/[^`]+\.test\.ts)`(?: "([^"]+)")?/g)];
      expect(references.length, row).toBeGreaterThan(0);
      for (const [, file, name] of references) {
        const path = join(ROOT, file!);
        expect(existsSync(path), file).toBe(true);
        if (name !== undefined) expect(readFileSync(path, 'utf8'), `${file}: "${name}"`).toContain(name);
      }
    }
  });
});
