import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

/**
 * The reason codes the default policy can give: every `reason("<code>", …)` in the Rego of
 * policies/mcp (tests left out), read from the source, a call's arguments on one line or several.
 */
export function defaultPolicyCodes(): Set<string> {
  const dir = join(ROOT, 'policies/mcp');
  const codes = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const m of source.matchAll(/reason\(\s*"([a-z_]+)"/g)) codes.add(m[1] as string);
  }
  return codes;
}
