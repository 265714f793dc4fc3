import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, postJson, startServe } from '../helpers/cli.ts';

const run = promisify(execFile);
const SERVER = 'https://mcp.example.com/files';

describe('mcp-warden audit verify / query on the trail a real service wrote', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-audit-e2e-'));
  const trail = join(dir, 'var/audit/audit.jsonl');
  const audit = (...args: string[]) => run(process.execPath, [CLI, 'audit', ...args], { cwd: dir });

  beforeAll(async () => {
    const service = await startServe(['--dev'], dir);
    const mint = async (sub: string) =>
      (await postJson(`${service.url}/v1/dev/token`, { sub, roles: ['reader'], server: SERVER })).json.token as string;
    const alice = await mint('alice');
    const bob = await mint('bob');
    const session = (await postJson(`${service.url}/v1/sessions`, { token: alice, server: SERVER })).json.id as string;
    const call = (token: string) => ({
      token,
      server: SERVER,
      session,
      mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    });
    await postJson(`${service.url}/v1/decide`, call(alice));
    await postJson(`${service.url}/v1/decide`, call(bob));
    await service.stop(); // a graceful stop writes the final checkpoint
  });

  it('verify: every record and checkpoint verifies', async () => {
    const { stdout } = await audit('verify', '--file', trail);
    // The 4 records between the chain's start record and the close record of the graceful stop.
    expect(stdout).toMatch(/^ok: 6 records in 1 chain\(s\), 1 signed checkpoint\(s\) verified\n$/);
  });

  it('keys: the exported public key is all an auditor needs to verify the trail', async () => {
    const { stdout } = await audit('keys');
    const vkeys = join(dir, 'auditors.vkeys');
    writeFileSync(vkeys, stdout);
    expect(stdout).toMatch(/^mcp-warden\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/); // a verifier key, never the private one
    const verified = await audit('verify', '--file', trail, '--keys', vkeys);
    expect(verified.stdout).toMatch(/^ok: 6 records in 1 chain\(s\), 1 signed checkpoint\(s\) verified/);
  });

  it('query: the replay by bob is found by subject, with the security event', async () => {
    const { stdout } = await audit('query', '--file', trail, '--subject', 'bob');
    const kinds = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).kind);
    expect(kinds).toEqual(['session.owner_mismatch', 'decision']);
  });

  it('verify: a rewritten decision is reported with its sequence number, exit 1', async () => {
    const original = readFileSync(trail, 'utf8');
    // the first "allow":false is record 4 (after the start record), the replay's security event
    writeFileSync(trail, original.replace('"allow":false', '"allow":true'));
    await expect(audit('verify', '--file', trail)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/BROKEN: chain .*, record 4: the record was altered/),
    });
    writeFileSync(trail, original);
  });
});
