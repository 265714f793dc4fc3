import { BundleInvalid } from '../errors.ts';

/**
 * Where a tool's result carries a state handle the upstream minted
 * (`data.catalogue.tools.<tool>.handle_result`): a string field of `structuredContent`,
 * or a regular expression over its text content whose first group (or whole match) is
 * the handle. The PEP binds every handle it finds to the caller before the result leaves.
 */
export type HandleResult = { readonly field: string } | { readonly pattern: string };

/** Longest handle pattern accepted from policy data. */
const MAX_PATTERN_LENGTH = 512;

/**
 * The `handle_result` of each tool in the catalogue, checked once when a bundle loads: a
 * malformed one (not exactly one of `field` / `pattern`, a pattern that does not compile)
 * makes the bundle invalid, so that a handle is never left unbound by a typo.
 */
export function handleResultsOf(tools: unknown): ReadonlyMap<string, HandleResult> {
  const found = new Map<string, HandleResult>();
  if (tools === null || typeof tools !== 'object') return found;
  for (const [tool, spec] of Object.entries(tools as Record<string, unknown>)) {
    const raw = spec !== null && typeof spec === 'object' ? (spec as Record<string, unknown>).handle_result : undefined;
    if (raw === undefined || raw === null) continue;
    found.set(tool, parse(tool, raw));
  }
  return found;
}

function parse(tool: string, raw: unknown): HandleResult {
  const where = `catalogue.tools.${tool}.handle_result`;
  const keys = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? Object.keys(raw) : [];
  const value = keys.length === 1 ? (raw as Record<string, unknown>)[keys[0]!] : undefined;
  if (keys[0] === 'field' && typeof value === 'string' && value.length > 0) return { field: value };
  if (keys[0] === 'pattern' && typeof value === 'string' && value.length > 0 && value.length <= MAX_PATTERN_LENGTH) {
    try {
      new RegExp(value, 'u');
    } catch (err) {
      throw new BundleInvalid(`${where}.pattern does not compile: ${(err as Error).message}`);
    }
    return { pattern: value };
  }
  throw new BundleInvalid(
    `${where} must be {"field": "<name>"} or {"pattern": "<regex, at most ${MAX_PATTERN_LENGTH}>"}`,
  );
}
