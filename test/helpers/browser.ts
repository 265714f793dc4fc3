import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './paths.ts';

/**
 * Flags for a headless Chromium run as root on a machine with a closed network: no
 * sandbox (root), no GPU, and none of the background connections that would be refused.
 * playwright's `launch` gives it a new empty profile (`--user-data-dir`) of its own.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A headless Chromium (playwright-core, `executablePath`): Debian's, which scripts/setup.sh
 * installs, or `$CHROMIUM_PATH`; never a downloaded browser. Throws when it is not installed.
 */
export async function launchChromium(): Promise<Browser> {
  const executable = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  try {
    accessSync(executable, constants.X_OK);
  } catch {
    // Fail, not skip: a browser test that skips on a machine without Chromium would pass unseen.
    throw new Error(
      `no executable Chromium at ${executable}: run \`bash scripts/setup.sh\` (it installs Debian's chromium), ` +
        'or set CHROMIUM_PATH',
    );
  }
  return chromium.launch({ executablePath: executable, headless: true, args: ARGS });
}

/**
 * A full-page screenshot for docs/console.md, as `docs/images/console-<name>.png`; the
 * caller sets the viewport (1280x800) so that every picture has the same width.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(ROOT, 'docs', 'images');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
