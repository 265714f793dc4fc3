#!/usr/bin/env node
import { USAGE } from './cli/usage.ts';

/**
 * A command answers its exit code, or -1 when it keeps running (a listener) and exits on a
 * signal. Each is loaded on demand, so that `help` and `dev-token` start without the service.
 */
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: async (args) => (await import('./cli/serve.ts')).serveCommand(args),
  proxy: async (args) => (await import('./cli/proxy.ts')).proxyCommand(args),
  'dev-token': async (args) => (await import('./cli/dev-token.ts')).devTokenCommand(args),
  'api-key': async (args) => (await import('./cli/api-key.ts')).apiKeyCommand(args),
  audit: async (args) => (await import('./cli/audit.ts')).auditCommand(args),
  test: async (args) => (await import('./cli/test.ts')).testCommand(args),
};

const HELP = new Set([undefined, 'help', '--help', '-h']);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (HELP.has(command)) {
    console.log(USAGE);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command as string) ? COMMANDS[command as string] : undefined;
  if (run === undefined) {
    console.error(`unknown command: ${command}\n\n${USAGE}`);
    return 2;
  }
  return run(rest);
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
