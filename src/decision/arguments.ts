/** Deepest nesting of tool arguments decided on (the HTTP layer's own limit is lower). */
const MAX_ARGUMENT_DEPTH = 64;

/**
 * Why tool arguments cannot be decided on, or null. The policy sees them as JSON and the
 * audit trail hashes their RFC 8785 form, which has no lone surrogate and no non-finite
 * number; a value the trail cannot record (or the policy would see as something else,
 * `Infinity` becoming `null`) is refused rather than decided. Iterative: deep nesting is
 * a refusal, not a stack overflow.
 */
export function argumentsProblem(value: unknown): string | null {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return 'a string holds a lone surrogate';
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'a number is not finite';
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_ARGUMENT_DEPTH) return `nested deeper than ${MAX_ARGUMENT_DEPTH} levels`;
      for (const [key, child] of Object.entries(v)) {
        if (!key.isWellFormed()) return 'a key holds a lone surrogate';
        stack.push({ value: child, depth: depth + 1 });
      }
    } else if (v !== undefined && typeof v !== 'boolean') {
      return `a value of type ${typeof v} is not JSON`;
    }
  }
  return null;
}
