import { describe, expect, it } from 'vitest';
import { clientDescriptionOf } from '../../src/pep/client-description.ts';

describe('the client a request describes', () => {
  it("reads initialize's clientInfo and capability names (2025 eras)", () => {
    const params = { clientInfo: { name: 'app', version: '2.0' }, capabilities: { sampling: {}, elicitation: {} } };
    expect(clientDescriptionOf('initialize', params)).toEqual({
      name: 'app',
      version: '2.0',
      capabilities: ['elicitation', 'sampling'],
    });
  });

  it('reads the _meta of a 2026-07-28 request, and only there for other methods', () => {
    const params = {
      clientInfo: { name: 'not-read' },
      _meta: {
        'io.modelcontextprotocol/clientInfo': { name: 'v2-app', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': { roots: { listChanged: true } },
      },
    };
    expect(clientDescriptionOf('tools/call', params)).toEqual({
      name: 'v2-app',
      version: '1',
      capabilities: ['roots'],
    });
  });

  it('is undefined when the request says nothing, and keeps only what has the right type', () => {
    expect(clientDescriptionOf('tools/call', {})).toBeUndefined();
    expect(clientDescriptionOf('tools/call', { _meta: { 'io.modelcontextprotocol/clientInfo': 'x' } })).toBeUndefined();
    expect(clientDescriptionOf('initialize', { clientInfo: { name: 7, version: ['1'] } })).toEqual({});
    expect(clientDescriptionOf('initialize', { capabilities: [] })).toBeUndefined();
  });

  it('cuts what the decision API would refuse, so a long self-description never fails a request', () => {
    const capabilities = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`cap${String(i).padStart(2, '0')}`, {}]).concat([['x'.repeat(65), {}]]),
    );
    const described = clientDescriptionOf('initialize', {
      clientInfo: { name: 'n'.repeat(1000), version: 'v' },
      capabilities,
    });
    expect(described?.name).toHaveLength(256);
    expect(described?.capabilities).toHaveLength(32);
    expect(described?.capabilities?.every((c) => c.length <= 64)).toBe(true);
  });
});
