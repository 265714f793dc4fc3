import { describe, expect, it } from 'vitest';
import { decodeHeaderValue } from '../../src/proxy/modern-headers.ts';
import { originProblem } from '../../src/proxy/origin-guard.ts';
import { isModern } from '../../src/pep/era.ts';
import { RpcParseError } from '../../src/pep/message.ts';
import { parseMessages } from '../../src/proxy/protocol.ts';
import { identityProblem } from '../../src/cli/proxy.ts';
import { bearerChallenge, bearerToken } from '../../src/proxy/resource-server.ts';
import { SessionMap } from '../../src/proxy/session-map.ts';

describe('proxy parts', () => {
  it('decodes the Base64 sentinel strictly', () => {
    expect(decodeHeaderValue('plain')).toBe('plain');
    expect(decodeHeaderValue('=?base64?SGVsbG8sIOS4lueVjA==?=')).toBe('Hello, 世界');
    expect(decodeHeaderValue('=?base64?SGVsbG8?=')).toBeUndefined(); // not padded: not canonical
    expect(decodeHeaderValue('=?base64?/w==?=')).toBeUndefined(); // 0xff is not UTF-8
    expect(decodeHeaderValue('=?BASE64?SGk=?=')).toBe('=?BASE64?SGk=?='); // the markers are case-sensitive
  });

  it('tells the eras apart by protocol version', () => {
    expect(isModern('2026-07-28')).toBe(true);
    expect(isModern('2027-01-01')).toBe(true);
    expect(isModern('2025-11-25')).toBe(false);
    expect(isModern(undefined)).toBe(false);
    expect(isModern('latest')).toBe(false);
  });

  it('classifies messages and refuses what is not JSON-RPC', () => {
    const { messages, batch } = parseMessages(
      Buffer.from(
        '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},' +
          '{"jsonrpc":"2.0","id":"a","result":{}}]',
      ),
    );
    expect(batch).toBe(true);
    expect(messages.map((m) => m.type)).toEqual(['request', 'notification', 'response']);
    for (const bad of [
      '[]',
      '3',
      '{"jsonrpc":"2.0","id":{},"method":"x"}',
      '{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}',
      '{"jsonrpc":"2.0","id":1}',
    ]) {
      expect(() => parseMessages(Buffer.from(bad)), bad).toThrow(RpcParseError);
    }
  });

  it('allows configured and loopback origins only, and loopback or public hosts on a loopback proxy', () => {
    const policy = {
      allowedOrigins: new Set(['https://app.example.com']),
      loopback: true,
      publicHost: 'mcp.example.com',
    };
    expect(originProblem(policy, undefined, '127.0.0.1:8282')).toBeNull();
    expect(originProblem(policy, 'https://app.example.com', 'localhost:8282')).toBeNull();
    expect(originProblem(policy, 'http://[::1]:3000', '[::1]:8282')).toBeNull();
    expect(originProblem(policy, undefined, 'mcp.example.com')).toBeNull();
    expect(originProblem(policy, 'http://evil.example.com', 'localhost:8282')).toMatch(/origin/);
    expect(originProblem(policy, undefined, 'evil.example.com:8282')).toMatch(/host/);
    expect(originProblem({ ...policy, loopback: false }, 'http://localhost:1', 'mcp.example.com')).toMatch(/origin/);
  });

  it('reads bearer tokens from the header only, and builds RFC 6750 challenges', () => {
    expect(bearerToken('Bearer abc.def-_~+/=')).toBe('abc.def-_~+/=');
    expect(bearerToken('bearer x')).toBe('x');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    const identity = {
      resource: 'r',
      authorizationServers: [],
      scopesSupported: ['a', 'b'],
      metadataUrl: 'https://p/.well-known/oauth-protected-resource/mcp',
    };
    expect(bearerChallenge(identity)).toBe(
      'Bearer resource_metadata="https://p/.well-known/oauth-protected-resource/mcp"',
    );
    // The scopes are the ones the request needs (step-up), not the resource's whole list.
    expect(bearerChallenge(identity, 'insufficient_scope', 'no "role"\n', ['mcp:write'])).toBe(
      'Bearer resource_metadata="https://p/.well-known/oauth-protected-resource/mcp", ' +
        'error="insufficient_scope", error_description="no role", scope="mcp:write"',
    );
  });

  it('the protected resource must be the endpoint, and name an authorization server outside dev mode', () => {
    const endpoint = 'https://mcp.example.com/mcp';
    expect(identityProblem(endpoint, endpoint, ['https://idp.example.com'], false)).toBeNull();
    expect(identityProblem('https://mcp.example.com/everything', endpoint, ['https://idp.example.com'], false)).toMatch(
      /RFC 9728/,
    );
    expect(identityProblem(endpoint, endpoint, [], false)).toMatch(/at least one authorization server/);
    expect(identityProblem(endpoint, endpoint, [], true)).toBeNull();
  });

  it('keeps a bounded map of sessions, dropping the oldest', () => {
    const map = new SessionMap(2);
    expect(map.set('mws_a', 'u1')).toBeUndefined();
    map.set('mws_b', null);
    expect(map.set('mws_c', 'u3')).toBe('u1');
    expect(map.get('mws_a')).toBeUndefined();
    expect(map.get('mws_b')).toBeNull();
    expect(map.delete('mws_c')).toBe('u3');
    expect(map.size).toBe(1);
  });
});
