// Part 1 of bench/scaling.ts: the default policy (policies/mcp, unchanged) compiled with a
// generated catalogue of N tools instead of policies/data.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECISION_ENTRYPOINT, GRANT_ENTRYPOINT } from '../../src/policy/engine.ts';
import { opaBinary } from '../../src/policy/opa-cli.ts';

export const POLICY_DIR = fileURLToPath(new URL('../../policies/mcp', import.meta.url));
const DATA_FILE = fileURLToPath(new URL('../../policies/data.json', import.meta.url));

interface ToolSpec {
  description: string;
  destructive: boolean;
  path_argument?: string;
  path_prefixes?: string[];
  handle_argument?: string;
}

interface Catalogue {
  tools: Record<string, ToolSpec>;
  roles: Record<string, { tools: string[]; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** What a generated catalogue holds, for the report. */
export interface ScaledCatalogue {
  readonly data: { catalogue: Catalogue };
  /** Every tool name, in catalogue order (the candidates of a tools/list). */
  readonly tools: readonly string[];
  /**
   * The tools the `reader` role (the bench principal's) may call: what its session is
   * granted and what a list shows.
   */
  readonly readerTools: readonly string[];
}

/**
 * policies/data.json with its catalogue grown to `n` tools: the five real tools, then
 * `tool_0005`… shaped like `fs_read` (a path argument under /srv/data/), every tenth one
 * destructive. `reader` lists every non-destructive tool but `fs_write` (as the default
 * does), `writer` and `admin` list them all; prompts, scope roles and session limits are
 * unchanged.
 */
export function scaledCatalogue(n: number): ScaledCatalogue {
  const base = JSON.parse(readFileSync(DATA_FILE, 'utf8')) as { catalogue: Catalogue };
  const tools: Record<string, ToolSpec> = { ...base.catalogue.tools };
  if (n < Object.keys(tools).length) throw new RangeError(`a catalogue of ${n} tools is smaller than the default one`);
  for (let i = Object.keys(tools).length; i < n; i++) {
    tools[`tool_${String(i).padStart(4, '0')}`] = {
      description: `Generated tool ${i}: reads a file under /srv/data/.`,
      destructive: i % 10 === 9,
      path_argument: 'path',
      path_prefixes: ['/srv/data/'],
    };
  }
  const names = Object.keys(tools);
  const readerTools = names.filter((t) => tools[t]!.destructive !== true && t !== 'fs_write');
  const roles = structuredClone(base.catalogue.roles);
  roles.reader!.tools = readerTools;
  roles.writer!.tools = names;
  roles.admin!.tools = names;
  return { data: { catalogue: { ...base.catalogue, tools, roles } }, tools: names, readerTools };
}

/**
 * Writes the catalogue's data.json into `<dir>/data/` and compiles policies/mcp with it:
 * `opa build -t wasm -e mcp/authz/decision -e mcp/session/grant --ignore '*_test.rego'
 * policies/mcp <dir>/data`. Answers the bundle's path, its size and how long opa took.
 */
export function buildCatalogueBundle(
  catalogue: ScaledCatalogue,
  dir: string,
): { path: string; seconds: number; bytes: number } {
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'data.json'), JSON.stringify(catalogue.data));
  const path = join(dir, 'bundle.tar.gz');
  const start = performance.now();
  execFileSync(
    opaBinary(),
    [
      'build',
      '-t',
      'wasm',
      '-e',
      DECISION_ENTRYPOINT,
      '-e',
      GRANT_ENTRYPOINT,
      '--ignore',
      '*_test.rego',
      '--revision',
      `scaling-${catalogue.tools.length}-tools`,
      '-o',
      path,
      POLICY_DIR,
      dataDir,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const seconds = (performance.now() - start) / 1000;
  return { path, seconds, bytes: readFileSync(path).length };
}
