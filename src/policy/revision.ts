/**
 * Orders bundle revisions so that a reload can refuse an older one. OPA gives revisions no
 * order, so mcp-warden defines one that fits how they are usually written (build numbers,
 * dates, `v1.10`, `2026-12-02T10:00:00Z`): a revision is split into runs of ASCII digits
 * and runs of other characters, compared run by run; two digit runs compare by their
 * numeric value, a digit run sorts before any other run, two other runs compare by UTF-16
 * code units, and a revision that is a prefix of another is older. Revisions that differ
 * only in leading zeros fall back to comparing the whole strings, so the order is total:
 * only an identical string compares equal. Content hashes have no order here; give a
 * bundle a revision that grows (e.g. `<date>.<build>-<hash>`).
 *
 * Returns a negative number when `a` is older than `b`, 0 when they are the same, positive
 * when `a` is newer.
 */
export function compareRevisions(a: string, b: string): number {
  const left = runs(a);
  const right = runs(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareRuns(left[i] as string, right[i] as string);
    if (order !== 0) return order;
  }
  if (left.length !== right.length) return left.length - right.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const RUN = /\d+|\D+/g;

function runs(revision: string): string[] {
  return revision.match(RUN) ?? [];
}

function isDigits(run: string): boolean {
  return run.charCodeAt(0) >= 0x30 && run.charCodeAt(0) <= 0x39;
}

function compareRuns(x: string, y: string): number {
  const xDigits = isDigits(x);
  const yDigits = isDigits(y);
  if (xDigits && yDigits) {
    // By value without parsing: fewer significant digits is smaller, else the digits decide.
    const xs = x.replace(/^0+/, '');
    const ys = y.replace(/^0+/, '');
    if (xs.length !== ys.length) return xs.length - ys.length;
    return xs < ys ? -1 : xs > ys ? 1 : 0;
  }
  if (xDigits !== yDigits) return xDigits ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
