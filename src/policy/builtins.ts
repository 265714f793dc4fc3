/**
 * Builtins the OPA WebAssembly runtime leaves to the host. The evaluation clock is set
 * per evaluation, so `time.now_ns()` equals the input's `now_ns` within one decision.
 */
export interface HostBuiltins {
  readonly functions: Record<string, (...args: unknown[]) => unknown>;
  setNow(nowNs: number): void;
}

/** Creates the host builtins for one loaded policy. */
export function createHostBuiltins(): HostBuiltins {
  let nowNs = 0;
  return {
    functions: {
      'time.now_ns': () => nowNs,
    },
    setNow(value) {
      nowNs = value;
    },
  };
}
