import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CLASSES, toReason, WardenError, SessionRevoked } from '../src/errors.ts';
import { ROOT } from './helpers/paths.ts';

function documentedCodes(): string[] {
  const doc = readFileSync(join(ROOT, 'docs/reason-codes.md'), 'utf8');
  return [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1] as string);
}

function policyCodes(): string[] {
  const dir = join(ROOT, 'policies/mcp');
  const codes = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.rego') && !f.endsWith('_test.rego'))) {
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/reason\("([a-z_]+)"/g)) codes.add(m[1] as string);
  }
  return [...codes];
}

describe('error and reason codes', () => {
  it('every engine code and every default-policy code has a row in docs/reason-codes.md, and no row is stale', () => {
    const documented = documentedCodes();
    const known = [...ERROR_CLASSES.map((c) => c.code), ...policyCodes()];
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...new Set(known)].sort());
  });

  it('codes are unique snake_case and instances carry their class code', () => {
    const codes = ERROR_CLASSES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(new SessionRevoked('x').code).toBe('session_revoked');
  });

  it('toReason never leaks a foreign error message', () => {
    expect(toReason(new Error('secret db password in message'))).toEqual({ code: WardenError.code, message: 'internal error' });
    expect(toReason(new SessionRevoked('revoked'))).toEqual({ code: 'session_revoked', message: 'revoked' });
  });
});
