import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainSealer, verifyRecords } from '../../src/audit/chain.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import { decide } from '../../src/decision/decide.ts';
import { WardenError } from '../../src/errors.ts';
import { PolicyReloader } from '../../src/policy/reloader.ts';
import { createTestCore, PEP } from '../helpers/core.ts';
import { ROOT } from '../helpers/paths.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { SERVER } from '../helpers/tokens.ts';

/**
 * Inputs the fuzz targets found, each a failing case until its bug is fixed and a passing
 * one after. The fuzz targets hold every fixed bug strictly: an input that hits one again
 * fails the target.
 */

const READ = { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } };

/** A decide body as raw JSON text, with `extra` spliced into the tool arguments verbatim. */
const rawBody = (token: string, extra: string) =>
  `{"token":${JSON.stringify(token)},"server":${JSON.stringify(SERVER)},` +
  `"mcp":{"method":"tools/call","params":{"name":"fs_read","arguments":{"path":"/srv/data/a","q":${extra}}}}}`;

describe('fuzz regressions: one unsealable record must not take down its group commit', () => {
  let s: TestService;
  let token: string;
  beforeAll(async () => {
    s = await startTestService();
    token = await s.token();
  });
  afterAll(async () => {
    await s.app.close();
    rmSync(s.dir, { recursive: true, force: true });
  });

  // RFC 8785 (canonicalize) refuses lone surrogates and non-finite numbers, JSON.parse
  // yields both ("\ud800", 1e400), and the file sink seals a whole batch in one map: one
  // such request is unaudited and denies every decision written with it.
  for (const [name, poison] of [
    ['a lone surrogate ("\\ud800")', '"x\\ud800"'],
    ['a number that overflows to Infinity (1e400)', '1e400'],
  ] as const) {
    it(
      `${name} in a tool argument: refused as invalid_request or audited, and the concurrent decisions ` +
        `still allowed`,
      async () => {
        const [evil, ...innocent] = await Promise.all([
          s.app.inject({
            method: 'POST',
            url: '/v1/decide',
            headers: { 'content-type': 'application/json' },
            payload: rawBody(token, poison),
          }),
          ...Array.from({ length: 5 }, () =>
            s.app.inject({ method: 'POST', url: '/v1/decide', payload: { token, server: SERVER, mcp: READ } }),
          ),
        ]);
        expect(innocent.map((r) => r.json().allow)).toEqual([true, true, true, true, true]);
        if (evil!.statusCode === 400) {
          expect(evil!.json()).toMatchObject({
            code: 'invalid_request',
            errors: [expect.objectContaining({ path: 'mcp.params.arguments.q' })],
          });
        } else {
          expect(evil!.statusCode).toBe(200);
          // Answered, so audited: a request nobody can find in the trail is an audit evasion.
          expect(readFileSync(s.auditFile, 'utf8')).toContain(evil!.json().decision_id);
        }
        expect((await s.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      },
    );
  }

  it('arguments nested 5000 deep over HTTP: 400 naming the field, never a 500', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { 'content-type': 'application/json' },
      payload: rawBody(token, `${'['.repeat(5000)}${']'.repeat(5000)}`),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_request');
  });
});

describe('fuzz regressions: decide() never throws (DESIGN.md: "Nothing throws past decide()")', () => {
  it(
    'arguments nested 5000 deep, in process (the SDK adapter has no HTTP body limits): a deny, not a ' + 'RangeError',
    async () => {
      const t = await createTestCore();
      let deep: unknown = 'x';
      for (let i = 0; i < 5000; i++) deep = [deep];
      const request = {
        token: await t.idp.mint(),
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a', deep } } },
      };
      const outcome = await decide(t.deps, request as never, PEP).then(
        (d) => ({ allow: d.allow, codes: d.reasons.map((r) => r.code), threw: null }),
        (err: unknown) => ({ allow: null, codes: [], threw: String(err) }),
      );
      expect(outcome).toEqual({ allow: false, codes: ['invalid_request'], threw: null });
    },
  );
});

describe('fuzz regressions: a validly signed token with a non-string sub', () => {
  // jose checks `sub` for presence only; principalFromClaims does String(claims.sub), so
  // ["alice"] becomes the principal "alice" and {"toString":1} throws a TypeError.
  for (const sub of [['alice'], 42, { toString: 1 }]) {
    it(`sub ${JSON.stringify(sub)} is refused with claim_invalid`, async () => {
      const t = await createTestCore();
      const token = await t.idp.mint({ sub }, { subject: null });
      const err = await t.deps.verifier.verify(token, SERVER).then(
        (p) => new Error(`accepted as ${JSON.stringify(p.sub)}`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WardenError);
      expect((err as WardenError).code).toBe('claim_invalid');
    });
  }
});

describe('fuzz regressions: a tampered trail is reported, never thrown on', () => {
  // Found by the audit-chain target (seed 200216327): `record.seq <= head.seq` converts
  // an object to a primitive, and {"toString": …} without a callable one throws.
  for (const [field, value] of [
    ['seq', { toString: 1 }],
    ['seq', { valueOf: {} }],
    ['prev', { toString: 1 }],
  ] as const) {
    it(`a record whose ${field} is ${JSON.stringify(value)} makes verifyRecords answer broken`, () => {
      const sealer = new ChainSealer('regression');
      const trail = [0, 1, 2].map((i) => sealer.seal(auditRecord('decision', Date.UTC(2026, 0, 1, 0, 0, i), 'pep')));
      (trail[1] as unknown as Record<string, unknown>)[field] = JSON.parse(JSON.stringify(value));
      const verdict = (() => {
        try {
          return verifyRecords(trail);
        } catch (err) {
          return { ok: 'threw', problem: String(err) };
        }
      })();
      expect(verdict).toMatchObject({ ok: false });
    });
  }
});

describe('fuzz regressions: a corrupted bundle must not stall the service while it is loaded', () => {
  // Found by the bundle target (seed 184347025, case 14268): two bit flips, one in
  // policy.wasm's allocator and one in data.json, make opa-wasm's setData run ~13 s inside
  // the module before it traps. A reload now checks a bundle in a worker thread with a
  // deadline (src/policy/trial.ts), so the event loop that answers decisions never runs it.
  it('reloading the corpus stall input: it is refused (bundle_load_timeout) while decisions keep being answered', {
    timeout: 60_000,
  }, async () => {
    const t = await createTestCore();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-stall-'));
    const path = join(dir, 'bundle.tar.gz');
    copyFileSync(DEFAULT_BUNDLE, path);
    const reloader = new PolicyReloader({
      path,
      maxBytes: 64 << 20,
      active: t.deps.policy,
      audit: t.audit,
      watch: false,
      debounceMs: 0,
    });
    await reloader.start();
    const before = t.deps.policy.revision;
    const request = { token: await t.idp.mint(), server: SERVER, mcp: READ };
    copyFileSync(join(ROOT, 'test/fuzz/corpus/loops-in-set-data.tar.gz'), path);
    let reloading = true;
    let answered = 0;
    let allowed = 0;
    let worst = 0;
    const reload = reloader
      .reload()
      .then(
        () => 'activated',
        (err: { code?: string }) => err.code,
      )
      .finally(() => (reloading = false));
    while (reloading) {
      const started = performance.now();
      const d = await decide(t.deps, request, PEP);
      worst = Math.max(worst, performance.now() - started);
      answered += 1;
      if (d.allow && d.policy.revision === before) allowed += 1;
      await new Promise((r) => setImmediate(r));
    }
    const outcome = await reload;
    await reloader.stop();
    rmSync(dir, { recursive: true, force: true });
    console.log(
      `[stall regression] ${answered} decisions answered during the reload; worst decision latency ` +
        `${worst.toFixed(1)} ms`,
    );
    expect(outcome).toBe('bundle_load_timeout');
    expect(answered).toBeGreaterThan(0);
    expect(allowed).toBe(answered);
    expect(t.deps.policy.revision).toBe(before);
    expect(reloader.status()).toMatchObject({
      status: 'WARN',
      revision: before,
      last_error: { message: expect.stringMatching(/did not load and evaluate within 2000 ms/) },
    });
  });
});
