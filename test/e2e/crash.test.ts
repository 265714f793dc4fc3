import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, postJson, startServe } from '../helpers/cli.ts';

const run = promisify(execFile);
const SERVER = 'https://mcp.example.com/files';
const call = (token: string) => ({
  token,
  server: SERVER,
  mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
});

describe('kill -9 under load, then restart', () => {
  it('every allow answered before the kill is logged; a torn line is cut and recorded; trail verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-crash-'));
    const trail = join(dir, 'var/audit/audit.jsonl');
    const first = await startServe(['--dev'], dir);
    const token = (await postJson(`${first.url}/v1/dev/token`, { sub: 'alice', roles: ['reader'], server: SERVER }))
      .json.token as string;
    const allowed: string[] = [];
    let running = true;
    const loop = async () => {
      while (running) {
        try {
          const { json } = await postJson(`${first.url}/v1/decide`, call(token));
          if (json.allow === true) allowed.push(json.decision_id);
        } catch {
          return; // the service is gone
        }
      }
    };
    const loops = Array.from({ length: 16 }, loop);
    await new Promise((r) => setTimeout(r, 2000));
    first.child.kill('SIGKILL');
    running = false;
    await Promise.all(loops);
    await first.stop();
    expect(allowed.length).toBeGreaterThan(10);

    // What a crash mid-write leaves: half a line.
    const torn = '{"v":1,"ts":"2026-11-23T00:00:00.000Z","kind":"decision","decision_id":"torn';
    appendFileSync(trail, torn);
    const second = await startServe(['--dev'], dir);
    await second.stop();

    const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--file', trail], { cwd: dir });
    expect(stdout).toMatch(/^ok: \d+ records in 2 chain\(s\)/);
    // The killed run has no close record, and the restarted one recorded its crash; it stopped cleanly.
    expect(stdout).toMatch(/^crashed: chain \S+ ended without its close record/m);
    expect(stdout).not.toMatch(/^open: /m);
    const records = readFileSync(trail, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const logged = new Set(records.filter((r) => r.kind === 'decision' && r.allow === true).map((r) => r.decision_id));
    expect(allowed.filter((id) => !logged.has(id))).toEqual([]);
    const recovered = records.filter((r) => r.kind === 'audit.recovered');
    // Right after the start record of the restarted run's chain, which links to where the killed one ended.
    expect(recovered).toEqual([expect.objectContaining({ seq: 2 })]);
    const chains = [...new Set(records.map((r) => r.chain))];
    expect(chains).toHaveLength(2);
    const killed = records.filter((r) => r.chain === chains[0]);
    expect(killed[0].kind).toBe('audit.chain_started');
    expect(killed.at(-1).kind).not.toBe('audit.chain_closed');
    const restarted = records.filter((r) => r.chain === chains[1]);
    expect(restarted.map((r) => r.kind)).toEqual(['audit.chain_started', 'audit.recovered', 'audit.chain_closed']);
    expect(restarted[0].detail.previous).toMatchObject({
      chain: chains[0],
      records: killed.length,
      last_hash: killed.at(-1).hash,
      closed: false,
    });
    // At least our half line; more if the kill itself tore a write (never an answered one).
    expect(recovered[0].detail.cut_bytes).toBeGreaterThanOrEqual(Buffer.byteLength(torn));
  });
});

describe('an audit file that cannot be written', () => {
  it('denies audit_unavailable over HTTP, and allows again once it can write, without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-full-'));
    const link = join(dir, 'audit.jsonl');
    symlinkSync('/dev/full', link);
    const service = await startServe(['--dev'], dir, { MCP_WARDEN_AUDIT_FILE: link });
    try {
      const token = (await postJson(`${service.url}/v1/dev/token`, { sub: 'alice', roles: ['reader'], server: SERVER }))
        .json.token as string;
      const denied = await postJson(`${service.url}/v1/decide`, call(token));
      expect(denied.json).toMatchObject({ allow: false, reasons: [{ code: 'audit_unavailable' }] });
      expect((await postJson(`${service.url}/v1/sessions`, { token, server: SERVER })).status).toBe(503);
      expect((await fetch(`${service.url}/health`)).status).toBe(503);
      rmSync(link);
      symlinkSync(join(dir, 'real.jsonl'), link);
      const allowed = await postJson(`${service.url}/v1/decide`, call(token));
      expect(allowed.json.allow).toBe(true);
      expect(readFileSync(join(dir, 'real.jsonl'), 'utf8')).toContain(allowed.json.decision_id);
    } finally {
      await service.stop();
    }
  });
});
