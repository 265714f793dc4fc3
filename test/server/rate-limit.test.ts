import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const GATEWAY_1 = 'mwk_gateway-one-key-for-rate-tests-0123';
const GATEWAY_2 = 'mwk_gateway-two-key-for-rate-tests-0123';
const SCRAPER = 'mwk_scraper-key-for-rate-tests-012345';

describe('per-caller rate limit (server.rate_limit)', () => {
  let s: TestService;
  let token: string;
  beforeAll(async () => {
    s = await startTestService(
      { rate_limit: { max: 3, time_window_ms: 60_000 } },
      {
        callers: {
          api_keys: [
            { id: 'gateway-1', sha256: sha(GATEWAY_1), role: 'pep' },
            { id: 'gateway-2', sha256: sha(GATEWAY_2), role: 'pep' },
            { id: 'prometheus', sha256: sha(SCRAPER), role: 'metrics' },
          ],
        },
      },
    );
    token = await s.token();
  });
  afterAll(async () => {
    await s.app.close();
  });
  const decide = (key: string, remoteAddress = '127.0.0.1') =>
    s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      remoteAddress,
      headers: { authorization: `Bearer ${key}` },
      payload: {
        token,
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
      },
    });

  it(
    'answers 429 rate_limited with retry-after past max requests per window, per caller id wherever it ' +
      'connects from',
    async () => {
      const statuses = [];
      for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
        statuses.push((await decide(GATEWAY_1, address)).statusCode);
      expect(statuses).toEqual([200, 200, 200]);
      const refused = await decide(GATEWAY_1, '10.0.0.4');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'rate_limited' });
      expect(refused.json().message).toMatch(/more than 3 requests in 60000 ms/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['x-ratelimit-limit']).toBe('3');
    },
  );

  it('keeps another caller on its own budget', async () => {
    expect((await decide(GATEWAY_2)).statusCode).toBe(200);
  });

  it('limits requests without a valid key by address', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1)
      statuses.push((await decide('mwk_not-a-key-we-know-0000000000', '10.9.9.9')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('never limits the probes or /metrics', async () => {
    for (let i = 0; i < 6; i += 1) {
      for (const url of ['/livez', '/readyz', '/health', '/metrics']) {
        const res = await s.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${SCRAPER}` } });
        expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
      }
    }
  });
});
