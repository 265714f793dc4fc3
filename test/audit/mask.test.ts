import { describe, expect, it } from 'vitest';
import { MASKED, maskArguments, maskRules } from '../../src/audit/mask.ts';

describe('maskArguments', () => {
  it('keeps an own __proto__ key as a key of the copy: never dropped, never made its prototype', () => {
    const args = JSON.parse('{"__proto__":{"admin":true},"path":"/srv/data/x"}') as Record<string, unknown>;
    const masked = maskArguments(args, maskRules([], [])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(masked.admin).toBeUndefined();
    expect(Object.keys(masked)).toEqual(['__proto__', 'path']);
    expect(JSON.stringify(masked)).toBe(JSON.stringify(args));
  });

  it('masks under and at an own __proto__ key like any other', () => {
    const args = JSON.parse('{"__proto__":{"password":"hunter2","x":1},"constructor":{"prototype":{"token":"t"}}}');
    const byKey = maskArguments(args, maskRules(['password', 'token'], []));
    expect(JSON.stringify(byKey)).toBe(
      `{"__proto__":{"password":"${MASKED}","x":1},"constructor":{"prototype":{"token":"${MASKED}"}}}`,
    );
    const byPointer = maskArguments(args, maskRules([], ['/__proto__']));
    expect(JSON.stringify(byPointer)).toBe(`{"__proto__":"${MASKED}","constructor":{"prototype":{"token":"t"}}}`);
  });

  it('does not change its input', () => {
    const args = { auth: { password: 'p' }, q: { text: 't' } };
    maskArguments(args, maskRules(['password'], ['/q/text']));
    expect(args).toEqual({ auth: { password: 'p' }, q: { text: 't' } });
  });
});
