// Where the binaries of the comparison are, their versions, and the machine.
import { cpus, loadavg, platform, release } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand } from './proc.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const POLICIES_DIR = join(ROOT, 'policies');
export const CERBOS_DIR = join(ROOT, 'bench/compare/cerbos');

/** `opa`: OPA_BIN, else .tools/bin/opa, else the PATH. */
export const OPA_BIN = process.env.OPA_BIN ?? firstExisting([join(ROOT, '.tools/bin/opa')]) ?? 'opa';
/** The Cerbos PDP of bench/compare's @cerbos/cerbos-linux-x64 package (CERBOS_BIN overrides). */
export const CERBOS_BIN =
  process.env.CERBOS_BIN ?? join(ROOT, 'bench/compare/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64');

/**
 * GOMAXPROCS for the Go processes (opa, cerbos) when `--gomaxprocs=N` is given; unset
 * by default, so Go uses every core, as it would in production.
 */
export function goEnv(gomaxprocs: number | undefined): Record<string, string | undefined> {
  return gomaxprocs === undefined ? {} : { GOMAXPROCS: String(gomaxprocs) };
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  opa: string;
  cerbos: string;
  cedar_wasm: string;
  load_1m_before: number;
  gomaxprocs: string;
}

export async function describeMachine(gomaxprocs: number | undefined): Promise<Machine> {
  const firstLine = async (bin: string, args: string[]) => {
    try {
      return (await runCommand(bin, args)).split('\n')[0]?.trim() ?? '';
    } catch (err) {
      return `unavailable (${(err as Error).message.split('\n')[0]})`;
    }
  };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    os: `${platform()} ${release()}`,
    opa: (await firstLine(OPA_BIN, ['version'])).replace(/^Version:\s*/, ''),
    cerbos: await firstLine(CERBOS_BIN, ['--version']),
    // Imported here, not at the top, so lib/requirements.ts can report it missing.
    cedar_wasm: (await import('@cedar-policy/cedar-wasm/nodejs')).getCedarVersion(),
    load_1m_before: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    gomaxprocs: gomaxprocs === undefined ? 'unset (all cores)' : String(gomaxprocs),
  };
}

function firstExisting(paths: readonly string[]): string | undefined {
  return (
    paths.find((p) => existsSync(p)) ??
    process.env.PATH?.split(delimiter)
      .map((d) => join(d, 'opa'))
      .find((p) => existsSync(p))
  );
}
