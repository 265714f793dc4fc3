// The comparison systems are not part of mcp-warden's install (Cerbos ships a 96 MB
// linux-x64 binary): they live in bench/compare's own package. This says how to get
// them before anything imports them.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CERBOS_BIN } from './tools.ts';

const INSTALL = 'npm --prefix bench/compare ci';

/** What is missing to run the comparison, each with how to get it; empty when all is there. */
export function missingSystems(): string[] {
  const missing: string[] = [];
  try {
    createRequire(import.meta.url).resolve('@cedar-policy/cedar-wasm/nodejs');
  } catch {
    missing.push(`@cedar-policy/cedar-wasm: run \`${INSTALL}\``);
  }
  if (!existsSync(CERBOS_BIN)) {
    missing.push(
      `the Cerbos PDP (${CERBOS_BIN}): on linux-x64 run \`${INSTALL}\`; elsewhere set CERBOS_BIN to a cerbos binary`,
    );
  }
  return missing;
}

/** Exits 2 with the install instructions when a comparison system is missing. */
export function requireSystems(): void {
  const missing = missingSystems();
  if (missing.length === 0) return;
  console.error(`bench/compare needs the comparison systems, which npm ci at the root does not install:`);
  for (const line of missing) console.error(`  - ${line}`);
  process.exit(2);
}
