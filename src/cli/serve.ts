import type { DevPolicyBuilder } from '../policy/dev-builder.ts';
import { parseFlags, portFlag } from './args.ts';
import { commandConfig } from './config.ts';
import { listenFailure, probeListen } from './listen-failure.ts';
import { stopOnSignals } from './stop-on-signals.ts';

/**
 * `mcp-warden serve`: the decision service, in one process or, with `server.workers`, in a
 * primary that supervises workers each running this same command.
 */
export async function serveCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    bundle: { type: 'string' },
    dev: { type: 'boolean' },
    'watch-policies': { type: 'string' },
  });
  const overrides = {
    server: { host: values.host, port: portFlag(values.port), dev: values.dev },
    policy: { bundle: values['watch-policies'] === undefined ? values.bundle : 'var/dev-policy.tar.gz' },
  };
  let config = commandConfig({ file: values.config, overrides });
  if (config === null) return 2;
  // Refused before a policy is built or a worker forked: nothing listens.
  const { devBindProblem, keylessBindProblem } = await import('../service.ts');
  const { workersProblem } = await import('../server/workers.ts');
  const watching = values['watch-policies'] !== undefined;
  const problem =
    devBindProblem(config.server.dev, config.server.host) ??
    keylessBindProblem(config) ??
    workersProblem(config) ??
    (watching && config.server.workers > 1 ? '--watch-policies runs in one process only (server.workers 1)' : null);
  if (problem !== null) {
    console.error(problem);
    return 2;
  }
  if (config.server.workers > 1) {
    // Several processes on one port: the primary only supervises; each worker is a full
    // service with its own audit chain (and file), sharing the session store.
    const { runPrimary, workerAuditFile, workerIndex } = await import('../server/workers.ts');
    const index = workerIndex();
    if (index === null) {
      // A worker that cannot listen would only be restarted again and again: say so once, before forking.
      const { host, port } = config.server;
      const taken = port === 0 ? null : await probeListen({ host, port, section: 'server' });
      if (taken !== null) {
        console.error(`serve: ${taken}`);
        return 1;
      }
      await runPrimary(config, (message) => console.error(`[primary] ${message}`));
      return 0;
    }
    const audit = { file: workerAuditFile(config.audit.file, index) };
    config = commandConfig({ file: values.config, overrides: { ...overrides, audit } });
    if (config === null) return 2;
  }
  let builder: DevPolicyBuilder | undefined;
  if (watching) {
    // Dev mode on a Rego folder: build it with opa into var/, and serve that bundle.
    const { DevPolicyBuilder } = await import('../policy/dev-builder.ts');
    const { mkdirSync } = await import('node:fs');
    mkdirSync('var', { recursive: true });
    const log = (message: string) => console.error(`[policy] ${message}`);
    builder = new DevPolicyBuilder(values['watch-policies'] as string, config.policy.bundle, log);
    try {
      await builder.start();
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }
  const { createService } = await import('../service.ts');
  const { Lifecycle } = await import('../server/lifecycle.ts');
  const lifecycle = new Lifecycle();
  const app = await createService(config, { level: config.server.log_level }, lifecycle);
  const { host, port } = config.server;
  let address: string;
  try {
    address = await app.listen({ host, port });
  } catch (err) {
    console.error(`serve: ${listenFailure(err, { host, port, section: 'server' })}`);
    // The audit sink, session store, policy watcher and builder would keep the process alive.
    await Promise.all([app.close(), builder?.stop()]);
    return 1;
  }
  app.log.info({ dev: config.server.dev, audit: config.audit.file }, `mcp-warden listening on ${address}`);
  const { startupBanner } = await import('./banner.ts');
  console.error(startupBanner(config, address, app.policyStatus()).join('\n'));
  const { shutdown_delay_ms: delayMs, shutdown_grace_ms: graceMs } = config.server;
  stopOnSignals({ app, target: lifecycle, delayMs, graceMs, alongside: builder && (() => builder.stop()) });
  return -1;
}
