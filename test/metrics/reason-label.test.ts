import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_REASONS, reasonLabel } from '../../src/metrics/reason-label.ts';
import { defaultPolicyCodes } from '../helpers/policy-codes.ts';

describe('reasonLabel', () => {
  const cases: { note: string; reasons: { code: string }[]; want: string }[] = [
    { note: 'an allow has no reason', reasons: [], want: 'none' },
    { note: 'an engine code', reasons: [{ code: 'token_expired' }], want: 'token_expired' },
    {
      note: 'a default-policy code',
      reasons: [{ code: 'destructive_requires_role' }, { code: 'tool_not_permitted' }],
      want: 'destructive_requires_role',
    },
    {
      note: 'only the first reason counts',
      reasons: [{ code: 'tool_unknown' }, { code: 'made_up' }],
      want: 'tool_unknown',
    },
    { note: 'a custom policy code is bounded to other', reasons: [{ code: 'tenant_42_blocked' }], want: 'other' },
    { note: 'so is anything unexpected', reasons: [{ code: '' }], want: 'other' },
  ];
  for (const { note, reasons, want } of cases) {
    it(note, () => expect(reasonLabel(reasons)).toBe(want));
  }

  it('labels every reason the default policy gives by its code, and lists none it does not give', () => {
    const codes = defaultPolicyCodes();
    expect(codes.size).toBeGreaterThan(5);
    for (const code of codes) expect(reasonLabel([{ code }])).toBe(code);
    for (const code of DEFAULT_POLICY_REASONS) expect(codes).toContain(code);
  });
});
