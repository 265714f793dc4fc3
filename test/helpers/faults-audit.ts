import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decideMix,
  devConfig,
  devToken,
  during,
  fileTrail,
  judge,
  PHASES,
  type Phases,
  type ScenarioResult,
  startLoad,
  startWarden,
  verifyTrailCli,
  watchHealth,
} from './faults-harness.ts';

const isRoot = () => process.getuid?.() === 0;

/** Mounts a tmpfs of `size` at `dir` (root only; `FAULTS_NO_TMPFS=1` to try the other path); false when it cannot. */
function mountTmpfs(dir: string, size: string): boolean {
  if (!isRoot() || process.env.FAULTS_NO_TMPFS === '1') return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tmpfs', dir]).status === 0;
}

/** Fills the filesystem of `dir` to the last page with a file `filler`. */
function fillDisk(dir: string): number {
  const fd = openSync(join(dir, 'filler'), 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x78);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch {
          break; // ENOSPC at this chunk size: try a smaller one
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/**
 * The disk under the audit file fills up while decisions are made, then space is freed.
 * As root: a 16 MiB tmpfs filled to its last page by another file. Otherwise: the audit
 * file is a symlink to `/dev/full` (every write ENOSPC) from the start, and "freeing
 * space" points it at a real file (the sink reopens its path after a failed write).
 */
export async function diskFull(phases: Phases = PHASES): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-full-'));
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  const mounted = mountTmpfs(disk, '16m');
  const file = join(disk, 'audit.jsonl');
  if (!mounted) symlinkSync('/dev/full', file);
  const w = await startWarden({ dir, config: devConfig(dir, { audit: { file } }) });
  try {
    const token = await devToken(w.url);
    const health = watchHealth(() => w.url);
    const loadStart = performance.now();
    const load = startLoad(() => w.url, decideMix(token), 4);
    await sleep(phases.beforeMs);
    const faultStart = mounted ? performance.now() : loadStart;
    const filled = mounted ? fillDisk(disk) : 0;
    await sleep(phases.faultMs);
    if (mounted) rmSync(join(disk, 'filler'));
    else {
      rmSync(file);
      symlinkSync(join(disk, 'real.jsonl'), file);
    }
    const faultEnd = performance.now();
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await health.stop();
    const code = await w.stop();
    const verdict = await verifyTrailCli(dir);
    const denied = answers.filter(
      (a) => a.kind === 'good' && during(a, faultStart, faultEnd) && a.code === 'audit_unavailable',
    ).length;
    return judge({
      name: mounted ? 'disk full under the audit file (tmpfs filled)' : 'disk full (/dev/full as the audit file)',
      expectation:
        'while the disk is full decisions deny audit_unavailable (never an allow without its record) and /health ' +
        'is 503; once space is freed they allow again without a restart, and the trail still verifies',
      answers,
      judgement: {
        faultStart,
        faultEnd,
        expected: (a) => a.code === 'audit_unavailable',
        trail: fileTrail(mounted ? file : join(disk, 'real.jsonl')),
      },
      checks: {
        'denied audit_unavailable while full': denied > 0,
        '/health 503 while full': health.seen.some((h) => h.t >= faultStart && h.t < faultEnd && h.status === 503),
        'audit verify passes afterwards': verdict.ok,
        'clean exit on SIGTERM': code === 0,
      },
      notes: [
        mounted ? `filler ${filled} bytes` : 'not root: /dev/full, then a real file',
        `audit verify: ${verdict.output.split('\n').at(-1)}`,
      ],
    });
  } finally {
    await w.kill9();
    if (mounted) spawnSync('umount', ['-l', disk]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `nobody` user when running as root (root ignores file permissions), else ourselves. */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * A rotation may have renamed the file away an instant before (its successor not yet
 * created): with the directory read-only it cannot be created, which is the fault itself.
 */
function chmodIfPresent(file: string, mode: number): void {
  try {
    chmodSync(file, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * The audit file and its directory become read-only for the service (run as an
 * unprivileged user). An open file keeps taking writes, so the fault shows at the next
 * reopen: the file rotates every 32 KiB here, and the rotation's rename fails.
 */
export async function auditUnwritable(phases: Phases = PHASES): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-fault-ro-'));
  const auditDir = join(dir, 'audit');
  mkdirSync(auditDir);
  const user = unprivileged();
  if (user !== undefined) {
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid);
    chownSync(auditDir, user.uid, user.gid);
  }
  const file = join(auditDir, 'audit.jsonl');
  const w = await startWarden({ dir, user, config: devConfig(dir, { audit: { file, max_file_bytes: 32 * 1024 } }) });
  try {
    const token = await devToken(w.url);
    const health = watchHealth(() => w.url);
    const load = startLoad(() => w.url, decideMix(token), 4);
    await sleep(phases.beforeMs);
    const faultStart = performance.now();
    chmodSync(auditDir, 0o500);
    chmodIfPresent(file, 0o400);
    await sleep(phases.faultMs);
    chmodSync(auditDir, 0o700);
    chmodIfPresent(file, 0o600);
    const faultEnd = performance.now();
    await sleep(phases.afterMs);
    const answers = await load.stop();
    await health.stop();
    const code = await w.stop();
    const verdict = await verifyTrailCli(dir);
    const denied = answers.filter(
      (a) => a.kind === 'good' && during(a, faultStart, faultEnd) && a.code === 'audit_unavailable',
    ).length;
    return judge({
      name: 'audit file and directory made read-only',
      expectation:
        'at the next reopen (a rotation) decisions deny audit_unavailable and /health is 503; once writable again ' +
        'they allow without a restart; every answered decision is in the trail, which verifies',
      answers,
      judgement: { faultStart, faultEnd, expected: (a) => a.code === 'audit_unavailable', trail: fileTrail(file) },
      checks: {
        'denied audit_unavailable while read-only': denied > 0,
        '/health 503 while read-only': health.seen.some((h) => h.t >= faultStart && h.t < faultEnd && h.status === 503),
        'audit verify passes afterwards': verdict.ok,
        'clean exit on SIGTERM': code === 0,
      },
      notes: [
        user ? 'service run as nobody (root ignores permissions)' : 'service run as the current user',
        `audit verify: ${verdict.output.split('\n').at(-1)}`,
      ],
    });
  } finally {
    await w.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}
