import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { decide } from '../../src/decision/decide.ts';
import { ActivePolicy } from '../../src/policy/active.ts';
import { PolicyReloader, reportBuildFailure } from '../../src/policy/reloader.ts';
import { MemoryAuditSink } from '../helpers/audit.ts';
import { createTestCore, PEP } from '../helpers/core.ts';
import { FIXTURE_POLICIES, fixtureBundle, OPA } from '../helpers/paths.ts';
import { SERVER } from '../helpers/tokens.ts';
import { repackBundle } from './repack.ts';

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

  async function reloaderIn(dir: string, path: string, watch = true, debounceMs = 50) {
    const active = new ActivePolicy();
    const audit = new MemoryAuditSink();
    const attempts: string[] = [];
    const reloader = new PolicyReloader({
      path,
      maxBytes: 64 << 20,
      active,
      audit,
      watch,
      debounceMs,
      requireSignature: false,
      settled: (o) => attempts.push(o),
    });
    await reloader.start();
    stops.push(() => reloader.stop());
    return { active, audit, reloader, dir, attempts };
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
    expect(audit.saved.at(-1)).toMatchObject({
      kind: 'policy.activated',
      policy_revision: 'fixture-clock',
      detail: { previous: first },
    });
    expect(reloader.status()).toMatchObject({ status: 'OK', revision: 'fixture-clock', last_error: null });
  });

  it(
    'keeps the last good policy when a bundle fails, shows WARN, records policy.rejected; recovers on a ' + 'good one',
    async () => {
      const { path, active, audit, reloader } = await watched();
      const good = active.revision;
      writeFileSync(join(path, '..', 'broken.tmp'), 'not a bundle');
      renameSync(join(path, '..', 'broken.tmp'), path);
      await eventually(() => reloader.status().status === 'WARN');
      expect(active.revision).toBe(good);
      expect(audit.saved.at(-1)).toMatchObject({
        kind: 'policy.rejected',
        policy_revision: good,
        detail: { reason: { code: 'bundle_invalid' } },
      });
      swapIn(fixtureBundle('clock'), path);
      await eventually(() => active.revision === 'fixture-clock' && reloader.status().status === 'OK');
    },
  );

  it('ignores hidden and temporary files: only the bundle that follows them makes a reload attempt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-reload-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(DEFAULT_BUNDLE, path);
    // No debounce: an event that were not ignored would be an attempt of its own (an unchanged bundle).
    const { active, audit, attempts } = await reloaderIn(dir, path, true, 0);
    writeFileSync(join(dir, '.hidden'), 'x');
    writeFileSync(join(dir, 'notes.swp'), 'x');
    writeFileSync(join(dir, 'other.json'), 'x');
    swapIn(fixtureBundle('clock'), path);
    await eventually(() => active.revision === 'fixture-clock' && attempts.length > 0);
    expect(attempts).toEqual(['activated']);
    expect(audit.saved.map((r) => r.kind)).toEqual(['policy.activated']);
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
    const reloader = new PolicyReloader({
      path,
      maxBytes: 64 << 20,
      active: t.deps.policy,
      audit: t.audit,
      watch: false,
      debounceMs: 0,
      requireSignature: false,
    });
    await reloader.start();
    const token = await t.idp.mint();
    const request = {
      token,
      server: SERVER,
      mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
    };
    let running = true;
    const answers: { allow: boolean; revision: string | null }[] = [];
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const d = await decide(t.deps, request, PEP);
        answers.push({ allow: d.allow, revision: d.policy.revision });
        await new Promise((r) => setImmediate(r));
      }
    });
    // Each swap a newer revision of the same two policies: a reload refuses an older one.
    for (let i = 0; i < 6; i++) {
      await repackBundle(i % 2 === 0 ? fixtureBundle('clock') : DEFAULT_BUNDLE, path, { revision: `swap-${i}` });
      await reloader.reload();
      await new Promise((r) => setImmediate(r));
    }
    running = false;
    await Promise.all(loops);
    expect(answers.length).toBeGreaterThan(100);
    expect(answers.filter((a) => !a.allow)).toEqual([]);
    expect(new Set(answers.map((a) => a.revision)).size).toBeGreaterThanOrEqual(2);
  });

  it(
    'with require_signature: starts on a bundle signed by a trusted key, refuses unsigned and ' + 'foreign-signed ones',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-signed-'));
      const sign = (name: string, kid: string) => {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const pem = join(dir, `${name}.pem`);
        writeFileSync(pem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
        const out = join(dir, `${name}.tar.gz`);
        execFileSync(
          OPA,
          [
            'build',
            '-b',
            '.',
            '-t',
            'wasm',
            '-e',
            'mcp/authz/decision',
            '-e',
            'mcp/session/grant',
            '--signing-key',
            pem,
            '--verification-key-id',
            kid,
            '-o',
            out,
          ],
          { cwd: join(FIXTURE_POLICIES, 'clock'), stdio: 'pipe' },
        );
        return { out, jwk: { ...publicKey.export({ format: 'jwk' }), kid } };
      };
      const trusted = sign('trusted', 'release-2026');
      const foreign = sign('foreign', 'release-2026');
      const path = join(dir, 'bundle.tar.gz');
      copyFileSync(trusted.out, path);
      const active = new ActivePolicy();
      const reloader = new PolicyReloader({
        path,
        maxBytes: 64 << 20,
        active,
        audit: new MemoryAuditSink(),
        watch: false,
        debounceMs: 0,
        trust: { keys: { keys: [trusted.jwk] } },
        requireSignature: true,
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
    },
  );
});

/** A fixture policy built with `opa build --signing-key` under `revision`, and its public JWK. */
function signedBundle(dir: string, name: string, kid: string, revision: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = join(dir, `${name}.pem`);
  writeFileSync(pem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const out = join(dir, `${name}.tar.gz`);
  execFileSync(
    OPA,
    [
      'build',
      '-b',
      '.',
      '-t',
      'wasm',
      '-e',
      'mcp/authz/decision',
      '-e',
      'mcp/session/grant',
      '--revision',
      revision,
      '--signing-key',
      pem,
      '--signing-alg',
      'ES256',
      '--verification-key-id',
      kid,
      '-o',
      out,
    ],
    { cwd: join(FIXTURE_POLICIES, 'clock'), stdio: 'pipe' },
  );
  return { out, jwk: { ...publicKey.export({ format: 'jwk' }), kid } };
}

describe('PolicyReloader: who may sign, which revision, which roots', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  function setUp(first: string, options: Partial<ConstructorParameters<typeof PolicyReloader>[0]> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-trust-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(first, path);
    const active = new ActivePolicy();
    const audit = new MemoryAuditSink();
    const warnings: { message: string; detail: Record<string, unknown> }[] = [];
    const reloader = new PolicyReloader({
      path,
      maxBytes: 64 << 20,
      active,
      audit,
      watch: false,
      debounceMs: 0,
      log: { warn: (detail, message) => warnings.push({ message, detail }) },
      ...options,
    });
    stops.push(() => reloader.stop());
    return { dir, path, active, audit, reloader, warnings };
  }

  const keysDir = mkdtempSync(join(tmpdir(), 'mcp-warden-keys-'));
  const release = signedBundle(keysDir, 'release', 'release-2026', 'r-2026.12.02-1');
  const trust = { keys: { keys: [release.jwk] } };

  it('with trusted keys and nothing else set, an unsigned bundle is refused at start (bundle_unsigned)', async () => {
    const { reloader, active } = setUp(DEFAULT_BUNDLE, { trust });
    await expect(reloader.start()).rejects.toMatchObject({
      code: 'bundle_unsigned',
      message: expect.stringMatching(/not signed.*allow_unsigned/),
    });
    expect(active.revision).toBeNull();
    expect(reloader.status().status).toBe('NOT_READY');
  });

  it('an unsigned bundle is refused on reload; the signed policy stays and the refusal is audited', async () => {
    const { reloader, active, audit, path } = setUp(release.out, { trust });
    await reloader.start();
    expect(reloader.status()).toMatchObject({ status: 'OK', signer: 'release-2026', revision: 'r-2026.12.02-1' });
    await repackBundle(DEFAULT_BUNDLE, path, { revision: 'r-2026.12.02-9' });
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_unsigned' });
    expect(active.revision).toBe('r-2026.12.02-1');
    expect(audit.saved.at(-1)).toMatchObject({
      kind: 'policy.rejected',
      detail: { reason: { code: 'bundle_unsigned' } },
    });
    // A signed bundle re-packed without its signature is just as unsigned.
    await repackBundle(release.out, path, { revision: 'r-2026.12.03-1' });
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_unsigned' });
    expect(active.revision).toBe('r-2026.12.02-1');
  });

  it('allowUnsigned lets an unsigned bundle in with a warning at start and at every reload that uses it', async () => {
    const { reloader, active, audit, path, warnings } = setUp(DEFAULT_BUNDLE, { trust, allowUnsigned: true });
    await reloader.start();
    expect(warnings).toEqual([
      {
        message: expect.stringMatching(/UNSIGNED.*allow_unsigned/),
        detail: expect.objectContaining({ revision: active.revision }),
      },
    ]);
    copyFileSync(release.out, path);
    await expect(reloader.reload()).resolves.toBe('r-2026.12.02-1');
    expect(warnings).toHaveLength(1);
    expect(audit.saved.at(-1)?.detail).not.toHaveProperty('unsigned_allowed');
    await repackBundle(DEFAULT_BUNDLE, path, { revision: 'r-2026.12.02-2' });
    await expect(reloader.reload()).resolves.toBe('r-2026.12.02-2');
    expect(warnings).toHaveLength(2);
    expect(audit.saved.at(-1)).toMatchObject({
      kind: 'policy.activated',
      detail: { signer: null, unsigned_allowed: true },
    });
    expect(reloader.status()).toMatchObject({ signer: null });
  });

  it('a bundle signed by an unknown key is refused even with allowUnsigned', async () => {
    const foreign = signedBundle(keysDir, 'foreign', 'release-2026', 'r-2026.12.09-1');
    const { reloader, active, path } = setUp(release.out, { trust, allowUnsigned: true });
    await reloader.start();
    copyFileSync(foreign.out, path);
    await expect(reloader.reload()).rejects.toMatchObject({
      code: 'bundle_invalid',
      message: expect.stringMatching(/does not verify/),
    });
    expect(active.revision).toBe('r-2026.12.02-1');
  });

  it('refuses an older revision (bundle_rollback), keeps the active one; allowed when the reload asks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-revisions-'));
    const older = await repackBundle(fixtureBundle('clock'), join(dir, 'older.tar.gz'), { revision: '2026.12.02-9' });
    const newer = await repackBundle(DEFAULT_BUNDLE, join(dir, 'newer.tar.gz'), { revision: '2026.12.02-10' });
    const { reloader, active, audit, path, warnings } = setUp(newer);
    await reloader.start();
    copyFileSync(older, path);
    await expect(reloader.reload()).rejects.toMatchObject({
      code: 'bundle_rollback',
      message:
        'bundle revision "2026.12.02-9" is older than the active revision "2026.12.02-10"; an operator ' +
        'may allow a rollback for one reload',
    });
    expect(active.revision).toBe('2026.12.02-10');
    expect(audit.saved.at(-1)).toMatchObject({
      kind: 'policy.rejected',
      detail: { reason: { code: 'bundle_rollback' }, kept: '2026.12.02-10' },
    });
    expect(reloader.status().status).toBe('WARN');
    // The rollback an operator asks for holds for that reload only.
    await expect(reloader.reload({ allowRollback: true })).resolves.toBe('2026.12.02-9');
    expect(audit.saved.at(-1)).toMatchObject({
      kind: 'policy.activated',
      detail: { previous: '2026.12.02-10', rollback_allowed: true },
    });
    expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/not newer.*rollback/)]);
    await repackBundle(fixtureBundle('clock'), path, { revision: '2026.12.02-8' });
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_rollback' });
    expect(active.revision).toBe('2026.12.02-9');
  });

  it('refuses the active revision with other content (bundle_rollback); the same bytes are no reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-revisions-'));
    const first = await repackBundle(DEFAULT_BUNDLE, join(dir, 'first.tar.gz'), { revision: 'v7' });
    const { reloader, active, path } = setUp(first);
    await reloader.start();
    await repackBundle(fixtureBundle('deny-all'), path, { revision: 'v7' });
    await expect(reloader.reload()).rejects.toMatchObject({
      code: 'bundle_rollback',
      message: expect.stringMatching(/is the active revision, but the bundle differs/),
    });
    expect(active.revision).toBe('v7');
    copyFileSync(first, path);
    await expect(reloader.reload()).resolves.toBe('v7');
    expect(reloader.status()).toMatchObject({ status: 'OK', last_error: null });
  });

  it('refuses at start and on reload a bundle whose data lies outside its manifest roots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-roots-'));
    // The default policy's packages and entrypoints are under mcp/, its data under catalogue/ (and more).
    const outside = await repackBundle(DEFAULT_BUNDLE, join(dir, 'outside.tar.gz'), {
      revision: 'z-2',
      manifest: { roots: ['mcp'] },
    });
    const refused = setUp(outside);
    await expect(refused.reloader.start()).rejects.toMatchObject({
      code: 'bundle_outside_roots',
      message: expect.stringMatching(/^bundle data at \/\w+ is outside the manifest roots \["mcp"\]$/),
    });
    const { reloader, active, path } = setUp(fixtureBundle('clock'));
    await reloader.start();
    copyFileSync(outside, path);
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_outside_roots' });
    expect(active.revision).toBe('fixture-clock');
  });

  it('treats contradictory or meaningless options as misuse (TypeError)', () => {
    const base = {
      path: DEFAULT_BUNDLE,
      maxBytes: 1 << 20,
      active: new ActivePolicy(),
      audit: new MemoryAuditSink(),
      watch: false,
      debounceMs: 0,
    };
    expect(() => new PolicyReloader({ ...base, trust, allowUnsigned: true, requireSignature: true })).toThrow(
      TypeError,
    );
    expect(() => new PolicyReloader({ ...base, loadTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => new PolicyReloader({ ...base, loadTimeoutMs: 1.5 })).toThrow(TypeError);
  });
});

describe('PolicyReloader: what it logs, and a failed build of its source', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function logged() {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-log-'));
    const path = join(dir, 'bundle.tar.gz');
    await repackBundle(DEFAULT_BUNDLE, path, { revision: 'v1' });
    const lines: { level: string; message: string; detail: Record<string, unknown> }[] = [];
    const at = (level: string) => (detail: Record<string, unknown>, message: string) => {
      lines.push({ level, message, detail });
    };
    const reloader = new PolicyReloader({
      path,
      maxBytes: 64 << 20,
      active: new ActivePolicy(),
      audit: new MemoryAuditSink(),
      watch: false,
      debounceMs: 0,
      requireSignature: false,
      log: { info: at('info'), warn: at('warn'), error: at('error') },
    });
    await reloader.start();
    stops.push(() => reloader.stop());
    return { dir, path, reloader, lines };
  }

  it('logs each activation and rejection with its revision, and the recovery', async () => {
    const { dir, path, reloader, lines } = await logged();
    expect(lines).toEqual([
      { level: 'info', message: 'policy bundle activated', detail: expect.objectContaining({ revision: 'v1' }) },
    ]);
    writeFileSync(path, 'garbage');
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_invalid' });
    expect(lines.at(-1)).toMatchObject({
      level: 'error',
      message: expect.stringContaining('rejected'),
      detail: { revision: null, kept: 'v1', code: 'bundle_invalid', path },
    });
    // A bundle whose trial passed is named by its revision when it is refused.
    await repackBundle(DEFAULT_BUNDLE, path, { revision: 'v0' });
    await expect(reloader.reload()).rejects.toMatchObject({ code: 'bundle_rollback' });
    expect(lines.at(-1)).toMatchObject({ level: 'error', detail: { revision: 'v0', kept: 'v1' } });
    await repackBundle(DEFAULT_BUNDLE, join(dir, 'v2.tar.gz'), { revision: 'v2' });
    copyFileSync(join(dir, 'v2.tar.gz'), path);
    await expect(reloader.reload()).resolves.toBe('v2');
    expect(lines.at(-1)).toMatchObject({
      level: 'info',
      message: 'policy bundle activated; the last error is resolved',
      detail: { revision: 'v2', previous: 'v1', recovered: expect.stringContaining('older') },
    });
  });

  it('a failed build of its bundle shows in last_error until the next activation', async () => {
    const { path, reloader } = await logged();
    reportBuildFailure(join(path, '..', 'other.tar.gz'), 'not this bundle');
    expect(reloader.status()).toMatchObject({ status: 'OK', last_error: null });
    reportBuildFailure(path, 'authz.rego:3: rego_parse_error: unexpected eof');
    expect(reloader.status()).toMatchObject({
      status: 'WARN',
      revision: 'v1',
      last_error: { message: 'authz.rego:3: rego_parse_error: unexpected eof' },
    });
    await repackBundle(DEFAULT_BUNDLE, path, { revision: 'v2' });
    await reloader.reload();
    expect(reloader.status()).toMatchObject({ status: 'OK', revision: 'v2', last_error: null });
  });

  it('a stopped reloader hears no more of build failures', async () => {
    const { path, reloader } = await logged();
    await reloader.stop();
    reportBuildFailure(path, 'too late');
    expect(reloader.status().last_error).toBeNull();
  });
});
