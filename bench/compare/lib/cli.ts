// Flags and number formats shared by the compare scripts.

export interface CompareArgs {
  /** Short rounds, for a trial run (noisy). */
  quick: boolean;
  /** GOMAXPROCS for opa and cerbos; unset by default. */
  gomaxprocs: number | undefined;
}

export function parseArgs(argv: readonly string[]): CompareArgs {
  const args: CompareArgs = { quick: false, gomaxprocs: undefined };
  for (const arg of argv) {
    if (arg === '--quick') args.quick = true;
    else if (arg.startsWith('--gomaxprocs=')) {
      const n = Number(arg.slice('--gomaxprocs='.length));
      if (!Number.isInteger(n) || n < 1) throw new Error(`--gomaxprocs needs a positive integer: ${arg}`);
      args.gomaxprocs = n;
    } else throw new Error(`unknown argument: ${arg} (known: --quick, --gomaxprocs=N)`);
  }
  return args;
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtPct = (x: number): string => `${(x * 100).toFixed(1)} %`;
export const fmtMs = (x: number): string => x.toFixed(2);
