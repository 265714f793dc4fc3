import { ERROR_CLASSES } from '../errors.ts';

/**
 * Reason codes the default policy (`policies/mcp/`) gives. A test keeps this list and the
 * Rego in step, as `test/errors.test.ts` does for the docs table.
 */
export const DEFAULT_POLICY_REASONS: readonly string[] = [
  'method_not_permitted',
  'tool_unknown',
  'tool_not_permitted',
  'destructive_requires_role',
  'shared_principal_destructive',
  'argument_not_allowed',
  'prompt_not_permitted',
  'resource_not_permitted',
  'completion_ref_invalid',
  'session_required',
  'widen_empty',
  'no_tools',
];

const KNOWN = new Set([...ERROR_CLASSES.map((c) => c.code), ...DEFAULT_POLICY_REASONS]);

/**
 * The `reason` label of a decision: its first reason code, `none` without one, and
 * `other` for a code this build does not know. A custom policy can give any code it
 * likes; mapping the unknown ones keeps the label's values (and so the series) bounded.
 */
export function reasonLabel(reasons: readonly { readonly code: string }[]): string {
  const code = reasons[0]?.code;
  if (code === undefined) return 'none';
  return KNOWN.has(code) ? code : 'other';
}
