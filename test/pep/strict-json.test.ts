import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmbiguousMessage } from '../../src/errors.ts';
import { InvalidJson, parseStrictJson } from '../../src/pep/strict-json.ts';

function refusal(text: string): AmbiguousMessage {
  try {
    parseStrictJson(text);
  } catch (err) {
    expect(err, text).toBeInstanceOf(AmbiguousMessage);
    return err as AmbiguousMessage;
  }
  return expect.unreachable(`accepted: ${text}`);
}

describe('parseStrictJson', () => {
  it('refuses duplicate keys at any depth, after unescaping, naming the path', () => {
    expect(refusal('{"method":"a","method":"b"}').message).toBe("duplicate key 'method'");
    expect(refusal('{"method":"a","\\u006dethod":"b"}').code).toBe('ambiguous_message');
    expect(refusal('{"params":{"arguments":{"path":"/a","path":"/b"}}}').message).toBe(
      "params.arguments: duplicate key 'path'",
    );
    expect(refusal('[{"id":1},{"id":2,"params":{"x":{"y":1,"y":2}}}]').message).toBe("[].params.x: duplicate key 'y'");
  });

  it('refuses keys that fold onto a protocol field (case, Unicode case, NFKC, invisible characters)', () => {
    for (const key of [
      'Method',
      'METHOD',
      'ｍｅｔｈｏｄ',
      'method\\u0000',
      'me\\u200bthod',
      '\\u00admethod',
      'ID',
      'Params',
      '_META',
    ]) {
      expect(refusal(`{"${key}":"tools/call"}`).message, key).toContain('folds onto the protocol field');
    }
    for (const key of ['Name', 'URI', 'Arguments', 'taskid', 'ＮＡＭＥ']) {
      expect(refusal(`{"params":{"${key}":"x"}}`).message, key).toContain('params: key');
    }
  });

  it('refuses two keys of one object that fold onto each other, anywhere', () => {
    expect(refusal('{"params":{"arguments":{"path":"/a","Path":"/b"}}}').message).toBe(
      "params.arguments: keys 'path' and 'Path' fold onto each other",
    );
    expect(refusal('{"a":{"ſcope":1,"scope":2}}').code).toBe('ambiguous_message');
  });

  it('refuses keys JavaScript reads as a prototype anywhere, as the decision API does, naming the path', () => {
    const call = (args: string) =>
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fs_read","arguments":${args}}}`;
    const proto = refusal(call('{"__proto__":{"admin":true},"path":"/srv/data/x"}'));
    expect(proto.code).toBe('ambiguous_message');
    expect(proto.message).toBe(
      "params.arguments: the key '__proto__' is refused (JavaScript reads it as the prototype)",
    );
    // Escaped, it is the same key once unescaped.
    expect(refusal(call('{"\\u005f_proto__":{"admin":true}}')).message).toContain("'__proto__' is refused");
    expect(refusal(call('{"a":[{"b":{"__proto__":1}}]}')).message).toMatch(
      /^params\.arguments\.a\[\]\.b: the key '__proto__'/,
    );
    expect(refusal(call('{"constructor":{"prototype":{"admin":true}}}')).message).toBe(
      "params.arguments.constructor: the key 'prototype' inside 'constructor' is refused " +
        '(JavaScript reads it as a prototype)',
    );
    // Outside the arguments too: _meta, a client's result, the message itself.
    expect(refusal('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"__proto__":{}}}}').message).toContain(
      'params._meta:',
    );
    expect(refusal('{"jsonrpc":"2.0","id":2,"result":{"content":{"__proto__":{"x":1}}}}').message).toContain(
      'result.content:',
    );
    expect(refusal('{"__proto__":{},"jsonrpc":"2.0","id":1,"method":"ping"}').message).toMatch(/^the key '__proto__'/);
  });

  it('keeps constructor and prototype keys that reach no prototype, as JSON.parse reads them', () => {
    for (const args of [
      '{"constructor":"new","prototype":{"x":1}}',
      '{"constructor":{"name":"C"}}',
      '{"prototype":{"constructor":1}}',
      '{"constructor":[{"prototype":1}]}',
    ]) {
      const text = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${args}}}`;
      expect(parseStrictJson(text), args).toEqual(JSON.parse(text));
    }
  });

  it("leaves the caller's own data alone: argument keys may look like protocol fields", () => {
    const message = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'x', arguments: { Name: 'Bob', METHOD: 'GET', nested: { Id: 1 } } },
    };
    expect(parseStrictJson(JSON.stringify(message))).toEqual(message);
    const response = { jsonrpc: '2.0', id: 2, result: { action: 'accept', content: { Name: 'Bob' } } };
    expect(parseStrictJson(Buffer.from(JSON.stringify(response)))).toEqual(response);
  });

  it('reads ordinary MCP messages as JSON.parse does', () => {
    const messages = [
      {
        jsonrpc: '2.0',
        id: 'a"b\\c',
        method: 'tools/call',
        params: {
          name: 'fs_read',
          arguments: { path: '/srv/data/é/😀', n: [1, 2.5, -3e9, null, true] },
          _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', progressToken: 7 },
        },
      },
      [
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
      ],
      { jsonrpc: '2.0', id: 3, result: {} },
    ];
    for (const message of messages) {
      const text = JSON.stringify(message, null, 2);
      expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    }
  });

  it('refuses what is not JSON, bytes that are not UTF-8, and nesting deeper than 64', () => {
    expect(() => parseStrictJson('{')).toThrow(InvalidJson);
    expect(() => parseStrictJson(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toThrow(InvalidJson);
    expect(() => parseStrictJson(`${'['.repeat(65)}${']'.repeat(65)}`)).toThrow(/deeper than 64/);
    expect(parseStrictJson(`${'['.repeat(64)}${']'.repeat(64)}`)).toBeDefined();
  });

  it('agrees with JSON.parse on every generated value whose keys are unambiguous (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        let parsed: unknown;
        try {
          parsed = parseStrictJson(text);
        } catch (err) {
          // Only an ambiguity (folding keys) may refuse generated JSON.
          expect(err).toBeInstanceOf(AmbiguousMessage);
          return;
        }
        expect(parsed).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('reads a 1 MiB body', () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'w',
        arguments: { items: Array.from({ length: 24_000 }, (_, i) => ({ k: i, v: 'x'.repeat(30) })) },
      },
    });
    expect(body.length).toBeGreaterThan(1 << 20);
    expect(
      (parseStrictJson(body) as { params: { arguments: { items: unknown[] } } }).params.arguments.items,
    ).toHaveLength(24_000);
  });
});
