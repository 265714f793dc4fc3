import { describe, expect, it } from 'vitest';
import { serverConfigSchema } from '../../src/config/server.ts';
import { apiOriginPolicy, originRefusal } from '../../src/server/origin-guard.ts';

const loopback = apiOriginPolicy({ loopback: true, allowedHosts: [], allowedOrigins: [] });
const named = apiOriginPolicy({
  loopback: true,
  allowedHosts: ['Warden.Internal', 'gw.example.com:8443'],
  allowedOrigins: ['https://console.example.com'],
});
const open = apiOriginPolicy({ loopback: false, allowedHosts: [], allowedOrigins: [] });
const pinned = apiOriginPolicy({ loopback: false, allowedHosts: ['warden.example.com'], allowedOrigins: [] });

const cases = [
  { note: 'loopback name with a port', policy: loopback, origin: undefined, host: '127.0.0.1:8181', want: null },
  { note: 'localhost', policy: loopback, origin: undefined, host: 'localhost', want: null },
  { note: 'IPv6 loopback', policy: loopback, origin: undefined, host: '[::1]:8181', want: null },
  { note: 'a rebound name on loopback', policy: loopback, origin: undefined, host: 'evil.example:8181', want: 'host' },
  {
    note: 'a name that only starts like localhost',
    policy: loopback,
    origin: undefined,
    host: 'localhost.evil.example',
    want: 'host',
  },
  { note: 'no Host at all on loopback', policy: loopback, origin: undefined, host: undefined, want: 'host' },
  {
    note: 'a configured name, any port, any case',
    policy: named,
    origin: undefined,
    host: 'WARDEN.internal:9',
    want: null,
  },
  { note: 'a configured name:port', policy: named, origin: undefined, host: 'gw.example.com:8443', want: null },
  {
    note: 'a configured name on another port',
    policy: named,
    origin: undefined,
    host: 'gw.example.com:80',
    want: 'host',
  },
  { note: 'loopback still allowed beside names', policy: named, origin: undefined, host: 'localhost:8181', want: null },
  {
    note: 'a loopback origin is not a trusted caller',
    policy: loopback,
    origin: 'http://localhost:3000',
    host: 'localhost',
    want: 'origin',
  },
  {
    note: 'a rebound page carries its own origin',
    policy: loopback,
    origin: 'http://evil.example:8181',
    host: 'localhost',
    want: 'origin',
  },
  { note: 'an opaque origin', policy: loopback, origin: 'null', host: 'localhost', want: 'origin' },
  {
    note: 'a configured origin',
    policy: named,
    origin: 'https://console.example.com',
    host: 'warden.internal',
    want: null,
  },
  {
    note: 'a configured origin with another port',
    policy: named,
    origin: 'https://console.example.com:444',
    host: 'warden.internal',
    want: 'origin',
  },
  {
    note: 'not loopback, no names: any Host (keys required)',
    policy: open,
    origin: undefined,
    host: 'anything.example',
    want: null,
  },
  {
    note: 'not loopback, no names: still no browser',
    policy: open,
    origin: 'https://a.example',
    host: 'a.example',
    want: 'origin',
  },
  { note: 'not loopback, names pinned', policy: pinned, origin: undefined, host: 'other.example', want: 'host' },
  {
    note: 'not loopback, names pinned: loopback is not one',
    policy: pinned,
    origin: undefined,
    host: '127.0.0.1',
    want: 'host',
  },
  {
    note: 'not loopback, names pinned: the name',
    policy: pinned,
    origin: undefined,
    host: 'warden.example.com:443',
    want: null,
  },
] as const;

describe('the decision API refuses requests by Host and Origin', () => {
  for (const { note, policy, origin, host, want } of cases) {
    it(note, () => {
      const refusal = originRefusal(policy, origin, host);
      expect(refusal?.header ?? null).toBe(want);
      if (refusal !== null) expect(refusal.message).toMatch(refusal.header === 'host' ? /host/i : /origin/i);
    });
  }
});

describe('server.allowed_hosts and server.allowed_origins', () => {
  it('default to none: loopback names only, no browser origin', () => {
    const config = serverConfigSchema.parse({});
    expect(config.allowed_hosts).toEqual([]);
    expect(config.allowed_origins).toEqual([]);
  });

  it('take host names with an optional port, lowercased, and exact origins', () => {
    const config = serverConfigSchema.parse({
      allowed_hosts: ['Warden.Internal', 'warden.example.com:8443', '[::1]:8181', '10.0.0.7'],
      allowed_origins: ['https://console.example.com'],
    });
    expect(config.allowed_hosts).toEqual(['warden.internal', 'warden.example.com:8443', '[::1]:8181', '10.0.0.7']);
  });

  for (const [field, value] of [
    ['allowed_hosts', 'https://warden.example.com'],
    ['allowed_hosts', 'warden.example.com/path'],
    ['allowed_hosts', '*'],
    ['allowed_origins', 'https://console.example.com/'],
    ['allowed_origins', 'console.example.com'],
    ['allowed_origins', '*'],
  ] as const) {
    it(`refuses ${field} ${JSON.stringify(value)}, naming the field`, () => {
      const result = serverConfigSchema.safeParse({ [field]: [value] });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual([field, 0]);
    });
  }
});
