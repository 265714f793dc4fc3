import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/**
 * A command line that cannot run as given (an unknown option, a bad value, a missing
 * flag). Not a coded `WardenError`: it never reaches the wire; `src/cli.ts` prints it with
 * the command's usage and exits 2.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The flags of a command, parsed strictly. An option the command does not know is
 * refused by name, with the known one it is closest to; any other parse problem is
 * refused with node's own words. The caller's `--help`/`-h` is answered before this.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  const known = Object.keys(options);
  // Lenient first, to name an unknown option even when a later one is malformed.
  const { tokens } = parseArgs({ args, options, strict: false, tokens: true, allowPositionals: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || Object.hasOwn(options, token.name)) continue;
    const near = closest(token.name, known);
    throw new UsageError(`unknown option '${token.rawName}'${near === undefined ? '' : ` (did you mean --${near}?)`}`);
  }
  try {
    return parseArgs({ args, options, strict: true }).values;
  } catch (err) {
    if (isParseArgsError(err)) throw new UsageError(err.message.split('\n')[0] as string);
    throw err;
  }
}

/** Whether `err` is node's `parseArgs` refusing a command line (`ERR_PARSE_ARGS_*`). */
export function isParseArgsError(err: unknown): err is Error {
  return err instanceof Error && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');
}

/** The integer `value` of `flag` within [min, max], or undefined when the flag is absent. */
export function integerFlag(
  flag: string,
  value: string | undefined,
  range: { min: number; max: number; what: string },
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (/^\d+$/.test(value) && n >= range.min && n <= range.max) return n;
  throw new UsageError(`${flag} expects ${range.what}, not ${JSON.stringify(value)}`);
}

/** The `--port` of a listener: 0 (a free port) to 65535. */
export function portFlag(value: string | undefined): number | undefined {
  return integerFlag('--port', value, { min: 0, max: 65_535, what: 'a port number from 0 to 65535' });
}

/** The known option nearest to `name` (at most two edits, or a prefix of it), if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: { option: string; distance: number } | undefined;
  for (const option of known) {
    const distance = option.startsWith(name) && name.length >= 2 ? 1 : editDistance(name, option);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { option, distance };
  }
  return best?.option;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions from `a` to `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(substitution, (previous[j] as number) + 1, (row[j - 1] as number) + 1));
    }
    previous = row;
  }
  return previous[b.length] as number;
}
