import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { c as tarCreate, x as tarExtract } from 'tar';
import { DEFAULT_BUNDLE } from '../../src/config/policy.ts';
import {
  decideMix,
  devConfig,
  devToken,
  during,
  fileTrail,
  judge,
  PHASES,
  startLoad,
  startWarden,
  verifyTrailCli,
  waitFor,
  watchHealth,
  type Phases,
  type ScenarioResult,
} from './faults-harness.ts';

/** The committed bundle re-packed under another revision (same policy, same data). */
export async function repackedBundle(dir: string, revision: string): Promise<string> {
  const src = join(dir, `src-${revision}`);
  mkdirSync(src, { recursive: true });
  await tarExtract({ file: DEFAULT_BUNDLE, cwd: src });
  const manifest = JSON.parse(readFileSync(join(src, '.manifest'), 'utf8')) as { revision: string };
  writeFileSync(join(src, '.manifest'), JSON.stringify({ ...manifest, revision }));
  const out = join(dir, `${revision}.tar.gz`);
  await tarCreate({ gzip: true, cwd: src, file: out }, ['.manifest', 'policy.wasm', 'data.json']);
  return out;
}

/**
 * The directory holding the watched bundle is removed under load, then re-created with
 * a new revision of the bundle (written to a temporary name and renamed, as a deploy
 * would).
 */
export async function bundleDirRemoved(phases: Phases = PHASES): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-bundle-'));
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir);
  const bundle = join(policyDir, 'bundle.tar.gz');
  copyFileSync(DEFAULT_BUNDLE, bundle);
  const restored = await repackedBundle(dir, 'restored');
  const w = await startWarden({ dir, config: devConfig(dir, { policy: { bundle, reload_debounce_ms: 50 } }) });
  try {
    const token = await devToken(w.url);
    const health = watchHealth(() => w.url);
    const load = startLoad(() => w.url, decideMix(token), 4);
    await sleep(phases.beforeMs);
    const faultStart = performance.now();
    rmSync(policyDir, { recursive: true });
    await sleep(phases.faultMs);
    mkdirSync(policyDir);
    copyFileSync(restored, `${bundle}.tmp`);
    renameSync(`${bundle}.tmp`, bundle);
    const faultEnd = performance.now();
    const picked = await waitFor(
      () => load.answers.some((a) => a.t0 >= faultEnd && a.revision === 'restored'),
      Math.max(phases.afterMs, 5_000),
    );
    const notes: string[] = [];
    if (!picked) {
      // The watcher did not follow the new directory: the documented manual path.
      const res = await fetch(`${w.url}/v1/admin/reload`, { method: 'POST' });
      notes.push(
        'the watcher did not pick up the re-created directory within 5 s; ' +
          `POST /v1/admin/reload answered ${res.status} ${(await res.text()).slice(0, 120)}`,
      );
      await sleep(500);
    }
    await sleep(500);
    const answers = await load.stop();
    await health.stop();
    await w.stop();
    const verdict = await verifyTrailCli(dir);
    const trail = fileTrail(join(dir, 'audit.jsonl'));
    const duringFault = answers.filter((a) => a.kind === 'good' && during(a, faultStart, faultEnd));
    const warned = health.seen.some(
      (h) => h.t >= faultStart && h.t < faultEnd && h.status === 200 && h.body?.components?.policy?.status === 'WARN',
    );
    return judge({
      name: 'bundle directory removed while watched',
      expectation:
        'the last good policy keeps deciding (no request fails), /health shows the ' +
        'policy WARN (still 200); a bundle put back in a re-created directory is loaded',
      answers,
      judgement: {
        faultStart,
        faultEnd,
        expected: () => false,
        trail,
        recovered: (a) => a.revision === 'restored',
        recoveredBy: picked ? 'itself' : 'operator',
      },
      checks: {
        'every good request allowed while the directory was gone':
          duringFault.length > 0 && duringFault.every((a) => a.allow === true),
        '/health 200 with policy WARN while gone': warned,
        'watcher loads the bundle from the re-created directory': picked,
        'audit verify passes afterwards': verdict.ok,
      },
      notes,
    });
  } finally {
    await w.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}
