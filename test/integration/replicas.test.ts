import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startServe, type RunningService } from '../helpers/cli.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis.ts';

const SERVER = 'https://mcp.example.com/files';

/** Two mcp-warden processes sharing one real redis-server. */
describe('replicas on one Redis', () => {
  let redis: RedisServer;
  let a: RunningService;
  let b: RunningService;
  let token: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-replicas-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        // Both replicas trust the same (dev) issuer key, as they would one IdP.
        server: { dev: true, dev_key_file: join(dir, 'issuer.json') },
        session: { store: 'redis', redis: { url: redis.url, command_timeout_ms: 300 } },
      }),
    );
    a = await startServe(['--config', config], dir, { MCP_WARDEN_AUDIT_FILE: join(dir, 'a.jsonl') });
    b = await startServe(['--config', config], dir, { MCP_WARDEN_AUDIT_FILE: join(dir, 'b.jsonl') });
    token = (await postJson(`${a.url}/v1/dev/token`, { sub: 'alice', roles: ['reader'], server: SERVER })).json.token;
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  const decide = async (replica: RunningService, session: string) =>
    (
      await postJson(`${replica.url}/v1/decide`, {
        token,
        server: SERVER,
        session,
        mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
      })
    ).json;
  const create = (replica: RunningService) => postJson(`${replica.url}/v1/sessions`, { token, server: SERVER });

  it('a session created on A is usable on B; revoked on B, it is denied on A at the next request', async () => {
    const created = await create(a);
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect((await decide(b, id)).allow).toBe(true);
    const revoked = await fetch(`${b.url}/v1/sessions/${id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect((await decide(a, id)).reasons).toEqual([expect.objectContaining({ code: 'session_revoked' })]);
  });

  it('with Redis killed both deny session_store_unavailable (fail closed), and recover without restart', async () => {
    const live = (await create(a)).json.id as string;
    expect((await decide(b, live)).allow).toBe(true);
    await redis.kill9();
    for (const replica of [a, b]) {
      const d = await decide(replica, live);
      expect(d.allow).toBe(false);
      expect(d.reasons).toEqual([expect.objectContaining({ code: 'session_store_unavailable' })]);
      expect((await create(replica)).status).toBe(503);
      const health = await fetch(`${replica.url}/health`);
      expect(health.status).toBe(503);
      expect(
        ((await health.json()) as { components: { sessions: { status: string } } }).components.sessions.status,
      ).toBe('ERROR');
    }
    await redis.restart(); // an empty Redis: the old sessions are gone, as after a real loss
    let created: Awaited<ReturnType<typeof create>> = { status: 0, json: {} };
    for (let attempt = 0; attempt < 100 && created.status !== 201; attempt++) {
      created = await create(a);
      if (created.status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(created.status).toBe(201);
    expect((await decide(b, created.json.id)).allow).toBe(true);
    expect((await decide(a, live)).reasons).toEqual([expect.objectContaining({ code: 'session_unknown' })]);
  });
});
