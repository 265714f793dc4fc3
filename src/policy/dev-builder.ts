import { execFile } from 'node:child_process';
import { renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { watch, type FSWatcher } from 'chokidar';
import { opaBinary, wasmBuildArgs } from './opa-cli.ts';
import { reportBuildFailure } from './reloader.ts';

const run = promisify(execFile);

/**
 * Dev mode (`serve --watch-policies <dir>`): compiles a Rego folder to a WASM bundle with
 * `opa build`, and again whenever a `.rego` or data file changes. Each build is written
 * beside the output and renamed over it, so the reloader only ever sees whole bundles; a
 * compile error is reported (and recorded on the reloader of the output, for `/v1/status`)
 * and the last good bundle stays.
 */
export class DevPolicyBuilder {
  readonly #source: string;
  readonly #output: string;
  readonly #report: (message: string) => void;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #building: Promise<boolean> = Promise.resolve(true);

  constructor(source: string, output: string, report: (message: string) => void) {
    this.#source = source;
    this.#output = output;
    this.#report = report;
  }

  /** Builds once (throws on a compile error: there is no good bundle yet), then watches. */
  async start(): Promise<void> {
    if (!(await this.build())) throw new Error(`the policies in ${this.#source} do not compile`);
    this.#watcher = watch(this.#source, {
      ignoreInitial: true,
      ignored: (p: string, stats) => (stats?.isFile() ?? false) && !/\.(rego|json|ya?ml)$/.test(p),
    });
    this.#watcher.on('all', () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.build(), 100);
    });
    await new Promise<void>((resolve) => this.#watcher?.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#watcher?.close();
    await this.#building;
  }

  /** One build, after any running one; resolves false on a compile error. */
  build(): Promise<boolean> {
    this.#building = this.#building.then(() => this.#build());
    return this.#building;
  }

  async #build(): Promise<boolean> {
    const aside = join(dirname(this.#output), `.${basename(this.#output)}.building`);
    try {
      // Decimal milliseconds, so that each build's revision is newer than the last (see revision.ts).
      await run(opaBinary(), wasmBuildArgs(this.#source, aside, `dev-${Date.now()}`));
    } catch (err) {
      // opa 1.x writes its errors (file:line: code: message) to stdout, not stderr.
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      const output = `${stdout ?? ''}\n${stderr ?? ''}`.trim() || (err as Error).message;
      this.#report(`policy build failed; the previous policy stays active:\n${output}`);
      reportBuildFailure(this.#output, `policy build of ${this.#source} failed: ${output}`);
      return false;
    }
    renameSync(aside, this.#output);
    this.#report(`policy rebuilt from ${this.#source}`);
    return true;
  }
}
