#!/usr/bin/env node
import { createHash, randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { parseArgs } from 'node:util';
import { isLoopback } from './server/loopback.ts';

const USAGE = `usage: mcp-warden <command> [options]

commands:
  serve       run the decision service
              --config <file>  JSON config (or MCP_WARDEN_CONFIG)
              --host <addr>    listen address (default 127.0.0.1)
              --port <n>       listen port (default 8181)
              --bundle <file>  policy bundle (default: the bundled default)
              --dev            dev mode: a local issuer and dev-token (loopback only)
              --watch-policies <dir>  build <dir> with opa on every .rego/data change
                               and serve it (a compile error keeps the old policy)
  proxy       an MCP Streamable HTTP endpoint in front of an MCP server, deciding
              every request (see docs/mcp.md)
              --upstream <url> [--config <file>] [--host <addr>] [--port <n>]
              [--resource <uri>] [--warden <url> (key in MCP_WARDEN_API_KEY)]
              [--bundle <file>] [--dev]
  dev-token   mint a token from a running dev-mode service on loopback
              --sub <id> [--role <r>]... [--scope "<s> <s>"] [--client-id <id>]
              [--server <uri>] [--ttl <seconds>] [--url http://127.0.0.1:8181]
  audit       verify: replay every chain and signed checkpoint of the configured sink
              (--config f, or --file f for a JSONL trail; --keys jwks.json for an
              auditor's public keys); exit 1 and the first broken link when it fails
              query: --session --subject --client-id --tool --server --kind
              --outcome allow|deny --since --until --limit --cursor
  test        check a policy folder as CI does: opa fmt, opa check --strict, opa test
              with coverage ≥ --coverage-min (90), and --cases <dir> of *.yaml
              {note, input, want} evaluated against the compiled WASM bundle
  api-key     generate an API key for a caller and print its config entry
              --id <caller id> --role pep|admin|metrics
  help        show this text`;

/** The MCP server id used by the quickstart and dev tokens unless told otherwise. */
const DEFAULT_SERVER = 'https://mcp.example.com/files';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'proxy':
      return (await import('./cli/proxy.ts')).proxyCommand(rest);
    case 'dev-token':
      return devToken(rest);
    case 'api-key':
      return apiKey(rest);
    case 'audit':
      return (await import('./cli/audit.ts')).auditCommand(rest);
    case 'test':
      return (await import('./cli/test.ts')).testCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      bundle: { type: 'string' },
      dev: { type: 'boolean' },
      'watch-policies': { type: 'string' },
    },
    strict: true,
  });
  // Loaded here so that `dev-token` and `help` start without the whole service.
  const { commandConfig } = await import('./cli/config.ts');
  let builder: import('./policy/dev-builder.ts').DevPolicyBuilder | undefined;
  if (values['watch-policies'] !== undefined) {
    // Dev mode on a Rego folder: build it with opa into var/, and serve that bundle.
    const { DevPolicyBuilder } = await import('./policy/dev-builder.ts');
    const { mkdirSync } = await import('node:fs');
    mkdirSync('var', { recursive: true });
    values.bundle = 'var/dev-policy.tar.gz';
    builder = new DevPolicyBuilder(values['watch-policies'], values.bundle, (message) => console.error(`[policy] ${message}`));
    try {
      await builder.start();
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }
  const overrides = {
    server: {
      host: values.host,
      port: values.port === undefined ? undefined : Number(values.port),
      dev: values.dev,
    },
    policy: { bundle: values.bundle },
  };
  let config = commandConfig({ file: values.config, overrides });
  if (config === null) return 2;
  if (config.server.workers > 1) {
    // Several processes on one port: the primary only supervises; each worker is a full
    // service with its own audit chain (and file), sharing the session store.
    const { runPrimary, workerAuditFile, workerIndex, workersProblem } = await import('./server/workers.ts');
    const problem = workersProblem(config) ?? (builder ? '--watch-policies runs in one process only (server.workers 1)' : null);
    if (problem !== null) {
      console.error(problem);
      await builder?.stop();
      return 2;
    }
    const index = workerIndex();
    if (index === null) {
      await runPrimary(config, (message) => console.error(`[primary] ${message}`));
      return 0;
    }
    config = commandConfig({ file: values.config, overrides: { ...overrides, audit: { file: workerAuditFile(config.audit.file, index) } } });
    if (config === null) return 2;
  }
  // Loaded only where it serves: a cluster's primary only supervises.
  const { createService } = await import('./service.ts');
  const { Lifecycle } = await import('./server/lifecycle.ts');
  const { shutdown } = await import('./server/shutdown.ts');
  const lifecycle = new Lifecycle();
  const app = await createService(config, { level: config.server.log_level }, lifecycle);
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  app.log.info({ dev: config.server.dev, audit: config.audit.file }, `mcp-warden listening on ${address}`);
  // The first signal drains and closes in order; a second one exits at once.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn(`${signal} again: exiting now`);
      process.exit(128 + (osConstants.signals[signal] ?? 0));
    }
    stopping = true;
    const { shutdown_delay_ms: delayMs, shutdown_grace_ms: graceMs } = config.server;
    app.log.info({ delay_ms: delayMs, grace_ms: graceMs }, `${signal}: draining, then closing`);
    void Promise.all([builder?.stop(), shutdown(app, lifecycle, { delayMs, graceMs })]).then(([, result]) => {
      if (result === 'forced') app.log.warn(`requests still in flight after ${graceMs} ms were cut`);
      if (result === 'timeout') app.log.error('the service did not stop in time (audit sink or session store)');
      else app.log.info('closed');
      process.exit(result === 'timeout' ? 1 : 0);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return -1;
}

async function devToken(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      role: { type: 'string', multiple: true },
      scope: { type: 'string' },
      'client-id': { type: 'string' },
      server: { type: 'string', default: DEFAULT_SERVER },
      ttl: { type: 'string' },
      url: { type: 'string', default: process.env.MCP_WARDEN_URL ?? 'http://127.0.0.1:8181' },
    },
    strict: true,
  });
  if (!values.sub) {
    console.error('dev-token: --sub is required');
    return 2;
  }
  const url = new URL('/v1/dev/token', values.url);
  if (!isLoopback(url.hostname.replace(/^\[|\]$/g, ''))) {
    console.error(`dev-token: refused: ${url.host} is not loopback; dev tokens exist only on loopback`);
    return 2;
  }
  const body = {
    sub: values.sub,
    server: values.server,
    roles: values.role,
    scope: values.scope,
    client_id: values['client-id'],
    ttl_seconds: values.ttl === undefined ? undefined : Number(values.ttl),
  };
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    console.error(`dev-token: no service answers at ${url.origin}; start it with \`npm start\``);
    return 1;
  }
  const answer = (await response.json()) as { token?: string; code?: string; message?: string };
  if (response.status === 404) {
    console.error('dev-token: refused: the service is not in dev mode (start it with --dev on loopback)');
    return 1;
  }
  if (!response.ok || !answer.token) {
    console.error(`dev-token: refused: ${answer.code ?? response.status}: ${answer.message ?? ''}`);
    return 1;
  }
  console.log(answer.token);
  return 0;
}

function apiKey(args: string[]): number {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, role: { type: 'string', default: 'pep' } }, strict: true });
  if (!values.id || !['pep', 'admin', 'metrics'].includes(values.role)) {
    console.error('api-key: --id <caller id> and --role pep|admin|metrics are required');
    return 2;
  }
  const key = `mwk_${randomBytes(32).toString('base64url')}`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  console.log(`key (give it to the caller; it is not stored):\n  ${key}\n`);
  console.log(`config entry (callers.api_keys):\n  ${JSON.stringify({ id: values.id, sha256, role: values.role })}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
