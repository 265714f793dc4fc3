import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import type { z } from 'zod';
import { BundleInvalid, PolicyBuiltinMissing, PolicyError, PolicyUndefined } from '../errors.ts';
import type { Bundle } from './bundle.ts';
import { createHostBuiltins, type HostBuiltins } from './builtins.ts';
import { handleResultsOf, type HandleResult } from './handle-result.ts';
import { decisionOutputSchema, grantOutputSchema, type DecisionOutput, type GrantOutput } from './output.ts';

/** The entrypoint answering "may this request proceed?". */
export const DECISION_ENTRYPOINT = 'mcp/authz/decision';
/** The entrypoint answering "which scope and lifetimes may this session have?". */
export const GRANT_ENTRYPOINT = 'mcp/session/grant';

/** A loaded, ready policy. Evaluation is synchronous; errors are coded. */
export interface PolicyEngine {
  readonly revision: string;
  decide(input: PolicyInput): DecisionOutput;
  grant(input: PolicyInput): GrantOutput;
  /** The argument of `tool` that carries a state handle, per `data.catalogue.tools.<tool>.handle_argument`. */
  handleArgument(tool: string): string | null;
  /** Where `tool`'s result carries a handle the upstream mints (`handle_result`), or null. */
  handleResult(tool: string): HandleResult | null;
}

/** The policy input of DESIGN.md; `now_ns` also drives `time.now_ns()`. */
export interface PolicyInput {
  readonly now_ns: number;
  readonly [key: string]: unknown;
}

/** Instantiates a bundle's WASM module with our host builtins and its data. */
export async function loadPolicyEngine(bundle: Bundle): Promise<PolicyEngine> {
  for (const entrypoint of [DECISION_ENTRYPOINT, GRANT_ENTRYPOINT]) {
    if (!bundle.entrypoints.includes(entrypoint)) {
      throw new BundleInvalid(`bundle does not declare the entrypoint ${entrypoint}`);
    }
  }
  const host = createHostBuiltins();
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(bundle.wasm, undefined, host.functions);
    policy.setData(bundle.data);
  } catch (err) {
    throw new BundleInvalid(`policy.wasm cannot be loaded: ${describe(err)}`);
  }
  const run = <T>(entrypoint: string, schema: z.ZodType<T>, input: PolicyInput): T =>
    evaluate(policy, host, entrypoint, schema, input);
  const tools = readPath(bundle.data, ['catalogue', 'tools']);
  const handleResults = handleResultsOf(tools);
  return {
    revision: bundle.revision,
    decide: (input) => run(DECISION_ENTRYPOINT, decisionOutputSchema, input),
    grant: (input) => run(GRANT_ENTRYPOINT, grantOutputSchema, input),
    handleArgument(tool) {
      const name = readPath(tools, [tool, 'handle_argument']);
      return typeof name === 'string' ? name : null;
    },
    handleResult: (tool) => handleResults.get(tool) ?? null,
  };
}

function evaluate<T>(
  policy: LoadedPolicy,
  host: HostBuiltins,
  entrypoint: string,
  schema: z.ZodType<T>,
  input: PolicyInput,
): T {
  let resultSet: unknown;
  host.setNow(input.now_ns);
  try {
    resultSet = policy.evaluate(input, entrypoint);
  } catch (err) {
    const message = describe(err);
    if (message.includes('not implemented: built-in function')) {
      throw new PolicyBuiltinMissing(`${entrypoint}: ${message}`);
    }
    throw new PolicyError(`${entrypoint} failed: ${message}`);
  }
  const first = Array.isArray(resultSet) ? (resultSet[0] as { result?: unknown } | undefined) : undefined;
  if (first === undefined || first.result === undefined) {
    throw new PolicyUndefined(`${entrypoint} is undefined for this input`);
  }
  const parsed = schema.safeParse(first.result);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') ?? '';
    throw new PolicyError(`${entrypoint} returned a result outside the contract (at "${where}")`);
  }
  return parsed.data;
}

function readPath(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err !== null && typeof err === 'object' && 'message' in err) return String(err.message);
  return 'unknown error';
}
