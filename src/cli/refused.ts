/**
 * A command refused with a message and an exit code: 1 when the trail fails (missing,
 * empty, broken), 2 when the keys it was given are wrong (a bad flag is a `UsageError`). Not a coded
 * `WardenError`: it never reaches the wire; the CLI's contract is its exit code.
 */
export class Refused extends Error {
  readonly exitCode: 1 | 2;

  constructor(exitCode: 1 | 2, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
