import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { decide } from '../../src/decision/decide.ts';
import { ActivePolicy } from '../../src/policy/active.ts';
import { PolicyReloader } from '../../src/policy/reloader.ts';
import { MemoryAuditSink } from '../helpers/audit.ts';
import { createTestCore, PEP } from '../helpers/core.ts';
import { FIXTURE_POLICIES, fixtureBundle, OPA } from '../helpers/paths.ts';
import { SERVER } from '../helpers/tokens.ts';

/** Polls `check` until it holds, at most ~5 s: file events are asynchronous. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
}

/** Replaces `path` atomically, as editors and build tools do: write aside, rename over. */
function swapIn(source: string, path: string): void {
  const aside = `${path}.incoming.tmp`;
  copyFileSync(source, aside);
  renameSync(aside, path);
}

describe('PolicyReloader', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function reloaderIn(dir: string, path: string, watch = true) {
    const active = new ActivePolicy();
    const audit = new MemoryAuditSink();
    const reloader = new PolicyReloader({ path, maxBytes: 64 << 20, active, audit, watch, debounceMs: 50, requireSignature: false });
    await reloader.start();
    stops.push(() => reloader.stop());
    return { active, audit, reloader, dir };
  }

  async function watched() {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-reload-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(DEFAULT_BUNDLE, path);
    return { path, ...(await reloaderIn(dir, path)) };
  }

  it('swaps in a new bundle on a file change and records policy.activated', async () => {
    const { path, active, audit, reloader } = await watched();
    const first = active.revision;
    swapIn(fixtureBundle('clock'), path);
    await eventually(() => active.revision === 'fixture-clock');
    expect(audit.saved.at(-1)).toMatchObject({ kind: 'policy.activated', policy_revision: 'fixture-clock', detail: { previous: first } });
    expect(reloader.status()).toMatchObject({ status: 'OK', revision: 'fixture-clock', last_error: null });
  });

  it('keeps the last good policy when a bundle fails, shows WARN, records policy.rejected; recovers on a good one', async () => {
    const { path, active, audit, reloader } = await watched();
    const good = active.revision;
    writeFileSync(join(path, '..', 'broken.tmp'), 'not a bundle');
    renameSync(join(path, '..', 'broken.tmp'), path);
    await eventually(() => reloader.status().status === 'WARN');
    expect(active.revision).toBe(good);
    expect(audit.saved.at(-1)).toMatchObject({ kind: 'policy.rejected', policy_revision: good, detail: { reason: { code: 'bundle_invalid' } } });
    swapIn(fixtureBundle('clock'), path);
    await eventually(() => active.revision === 'fixture-clock' && reloader.status().status === 'OK');
  });

  it('ignores hidden and temporary files', async () => {
    const { dir, audit } = await watched();
    writeFileSync(join(dir, '.hidden'), 'x');
    writeFileSync(join(dir, 'notes.swp'), 'x');
    await new Promise((r) => setTimeout(r, 300));
    expect(audit.saved).toEqual([]);
  });

  it("follows a Kubernetes ConfigMap swap of the '..data' symlink", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-k8s-'));
    mkdirSync(join(dir, '..2026_11_23_a'));
    copyFileSync(DEFAULT_BUNDLE, join(dir, '..2026_11_23_a', 'bundle.tar.gz'));
    symlinkSync('..2026_11_23_a', join(dir, '..data'));
    symlinkSync('..data/bundle.tar.gz', join(dir, 'bundle.tar.gz'));
    const { active } = await reloaderIn(dir, join(dir, 'bundle.tar.gz'));
    mkdirSync(join(dir, '..2026_11_23_b'));
    copyFileSync(fixtureBundle('clock'), join(dir, '..2026_11_23_b', 'bundle.tar.gz'));
    symlinkSync('..2026_11_23_b', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await eventually(() => active.revision === 'fixture-clock');
  });

  it('reload() without a watcher: a bad bundle rejects with bundle_invalid and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-reload-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(DEFAULT_BUNDLE, path);
    const { active, reloader } = await reloaderIn(dir, path, false);
    const good = active.revision;
    writeFileSync(path, 'garbage');
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_invalid' });
    expect(active.revision).toBe(good);
    copyFileSync(fixtureBundle('clock'), path);
    await expect(reloader.reload()).resolves.toBe('fixture-clock');
  });

  it('drops no request while bundles are swapped under load', async () => {
    const t = await createTestCore();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-reload-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(DEFAULT_BUNDLE, path);
    const reloader = new PolicyReloader({ path, maxBytes: 64 << 20, active: t.deps.policy, audit: t.audit, watch: false, debounceMs: 0, requireSignature: false });
    await reloader.start();
    const token = await t.idp.mint();
    const request = { token, server: SERVER, mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } } };
    let running = true;
    const answers: { allow: boolean; revision: string | null }[] = [];
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const d = await decide(t.deps, request, PEP);
        answers.push({ allow: d.allow, revision: d.policy.revision });
        await new Promise((r) => setImmediate(r));
      }
    });
    for (let i = 0; i < 6; i++) {
      copyFileSync(i % 2 === 0 ? fixtureBundle('clock') : DEFAULT_BUNDLE, path);
      await reloader.reload();
      await new Promise((r) => setTimeout(r, 20));
    }
    running = false;
    await Promise.all(loops);
    expect(answers.length).toBeGreaterThan(100);
    expect(answers.filter((a) => !a.allow)).toEqual([]);
    expect(new Set(answers.map((a) => a.revision)).size).toBe(2);
  });

  it('with require_signature: starts on a bundle signed by a trusted key, refuses unsigned and foreign-signed ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-signed-'));
    const sign = (name: string, kid: string) => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = join(dir, `${name}.pem`);
      writeFileSync(pem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
      const out = join(dir, `${name}.tar.gz`);
      execFileSync(OPA, ['build', '-b', '.', '-t', 'wasm', '-e', 'mcp/authz/decision', '-e', 'mcp/session/grant',
        '--signing-key', pem, '--verification-key-id', kid, '-o', out], { cwd: join(FIXTURE_POLICIES, 'clock'), stdio: 'pipe' });
      return { out, jwk: { ...publicKey.export({ format: 'jwk' }), kid } };
    };
    const trusted = sign('trusted', 'release-2026');
    const foreign = sign('foreign', 'release-2026');
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(trusted.out, path);
    const active = new ActivePolicy();
    const reloader = new PolicyReloader({
      path, maxBytes: 64 << 20, active, audit: new MemoryAuditSink(), watch: false, debounceMs: 0,
      trust: { keys: { keys: [trusted.jwk] } }, requireSignature: true,
    });
    await reloader.start();
    stops.push(() => reloader.stop());
    expect(reloader.status()).toMatchObject({ status: 'OK', signer: 'release-2026' });
    const revision = active.revision;
    copyFileSync(DEFAULT_BUNDLE, path);
    await expect(reloader.reload()).rejects.toThrow(/not signed/);
    copyFileSync(foreign.out, path);
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_invalid' });
    expect(active.revision).toBe(revision);
    expect(reloader.status()).toMatchObject({ status: 'WARN', signer: 'release-2026' });
  });
});

