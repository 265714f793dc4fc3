import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, postJson as post, startServe, type RunningService } from '../helpers/cli.ts';

const run = promisify(execFile);
const SERVER = 'https://mcp.example.com/files';

async function devToken(url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'dev-token', '--url', url, ...args]);
  return stdout.trim();
}

const toolCall = (token: string, name: string, session?: string) => ({
  token,
  server: SERVER,
  ...(session ? { session } : {}),
  mcp: { method: 'tools/call', params: { name, arguments: { path: '/srv/data/report.txt' } } },
});

describe('quickstart: serve --dev, dev-token, decide', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-e2e-'));
  let service: RunningService;

  beforeAll(async () => {
    service = await startServe(['--dev'], dir);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('allows a permitted tool', async () => {
    const alice = await devToken(service.url, '--sub', 'alice', '--role', 'reader');
    const { status, json } = await post(`${service.url}/v1/decide`, toolCall(alice, 'fs_read'));
    expect(status).toBe(200);
    expect(json.allow).toBe(true);
  });

  it('denies a forbidden tool with its reason code', async () => {
    const alice = await devToken(service.url, '--sub', 'alice', '--role', 'reader');
    const { json } = await post(`${service.url}/v1/decide`, toolCall(alice, 'fs_delete'));
    expect(json.allow).toBe(false);
    expect(json.reasons.map((r: { code: string }) => r.code)).toContain('destructive_requires_role');
  });

  it('denies an unknown session', async () => {
    const alice = await devToken(service.url, '--sub', 'alice', '--role', 'reader');
    const { json } = await post(`${service.url}/v1/decide`, toolCall(alice, 'fs_read', 'mws_not-a-session-we-issued'));
    expect(json.reasons).toEqual([expect.objectContaining({ code: 'session_unknown' })]);
  });

  it("denies alice's session presented by bob", async () => {
    const alice = await devToken(service.url, '--sub', 'alice', '--role', 'reader');
    const bob = await devToken(service.url, '--sub', 'bob', '--role', 'reader');
    const created = await post(`${service.url}/v1/sessions`, { token: alice, server: SERVER });
    expect(created.status).toBe(201);
    const own = await post(`${service.url}/v1/decide`, toolCall(alice, 'fs_read', created.json.id));
    expect(own.json.allow).toBe(true);
    const replay = await post(`${service.url}/v1/decide`, toolCall(bob, 'fs_read', created.json.id));
    expect(replay.json.allow).toBe(false);
    expect(replay.json.reasons).toEqual([expect.objectContaining({ code: 'session_owner_mismatch' })]);
  });

  it('wrote the audit file in the working directory, without tokens', async () => {
    const text = readFileSync(join(dir, 'var/audit/audit.jsonl'), 'utf8');
    expect(text).toContain('"session_owner_mismatch"');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});

describe('dev-token outside dev mode', () => {
  it('is refused by a service not in dev mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-e2e-'));
    const service = await startServe([], dir);
    try {
      await expect(devToken(service.url, '--sub', 'alice')).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('not in dev mode'),
      });
    } finally {
      await service.stop();
    }
  });

  it('is refused for a service that is not on loopback', async () => {
    await expect(devToken('http://10.1.2.3:8181', '--sub', 'alice')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('not loopback'),
    });
  });

  it('serve refuses a non-loopback address while callers are unauthenticated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-e2e-'));
    await expect(
      run(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0'], { cwd: dir }),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('refusing to listen on 0.0.0.0'),
    });
  });
});
