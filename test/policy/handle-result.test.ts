import { describe, expect, it } from 'vitest';
import { handleResultsOf } from '../../src/policy/handle-result.ts';
import { handlesIn } from '../../src/pep/minted-state.ts';

describe('handle_result in the policy data', () => {
  it('reads a field or a pattern per tool, and nothing for tools without one', () => {
    const found = handleResultsOf({
      search: { handle_result: { field: 'state' } },
      jobs: { handle_result: { pattern: 'job id: (\\w+)' } },
      plain: { destructive: false },
    });
    expect([...found]).toEqual([
      ['search', { field: 'state' }],
      ['jobs', { pattern: 'job id: (\\w+)' }],
    ]);
  });

  it('refuses the bundle for a malformed one, naming the tool', () => {
    for (const bad of [
      {},
      { field: '' },
      { field: 'a', pattern: 'b' },
      { pattern: '(' },
      'state',
      { pattern: 'x'.repeat(600) },
    ]) {
      expect(() => handleResultsOf({ t: { handle_result: bad } }), JSON.stringify(bad)).toThrow(
        /catalogue\.tools\.t\.handle_result/,
      );
    }
  });
});

describe('handlesIn', () => {
  it('finds a structuredContent field, or the first match per text block', () => {
    expect(handlesIn({ structuredContent: { state: 's-1' } }, { field: 'state' })).toEqual(['s-1']);
    expect(handlesIn({ structuredContent: { state: 7 } }, { field: 'state' })).toEqual([]);
    const text = (t: string) => ({ type: 'text', text: t });
    const result = {
      content: [text('job id: a1 (and job id: a2)'), text('no id'), { type: 'image' }, text('job id: b3')],
    };
    expect(handlesIn(result, { pattern: 'job id: (\\w+)' })).toEqual(['a1', 'b3']);
    expect(handlesIn({ content: [text('token-9')] }, { pattern: 'token-\\d' })).toEqual(['token-9']);
    expect(handlesIn('not a result', { field: 'state' })).toEqual([]);
  });
});
