import { expect } from 'vitest';
import type { ScenarioResult } from '../helpers/faults-harness.ts';
import { tableRow } from '../helpers/faults-table.ts';

/**
 * What every fault scenario must show: no wrong allow, no lost record, no error its
 * expectation does not explain, a recovery within `recoveryBoundMs`, and each of its own
 * checks met.
 */
export function expectScenario(r: ScenarioResult, recoveryBoundMs: number): void {
  console.log(
    `[fault] ${tableRow(r)}\n  errors ${JSON.stringify(r.errors)}\n` +
      `  checks ${JSON.stringify(r.checks)}\n  ${r.notes.join('\n  ')}`,
  );
  expect(r.wrongAllows, 'wrong allows').toBe(0);
  expect(r.lost, 'answered decisions missing from the audit trail').toBe(0);
  expect(r.unexpected, 'errors the expectation does not explain').toEqual({});
  expect(
    Object.entries(r.checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name),
    'checks not met',
  ).toEqual([]);
  expect(r.recoveryMs, 'recovery (null: never)').not.toBeNull();
  expect(r.recoveryMs as number).toBeLessThan(recoveryBoundMs);
}
