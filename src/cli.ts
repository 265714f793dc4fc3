#!/usr/bin/env node
import { isParseArgsError, UsageError } from './cli/args.ts';
import { COMMAND_USAGE, USAGE } from './cli/usage.ts';

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
  witness: async (args) => (await import('./cli/witness.ts')).witnessCommand(args),
};

const HELP = new Set([undefined, 'help', '--help', '-h']);

/**
 * Whether `args` ask for help. No option takes `-h` or `--help` as its value (strict
 * parsing refuses a value that looks like an option), so either, before `--`, means help.
 */
function asksHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  if (HELP.has(command)) {
    console.log(USAGE);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command as string) ? COMMANDS[command as string] : undefined;
  const usage = COMMAND_USAGE[command as string];
  if (run === undefined || usage === undefined) {
    console.error(`unknown command: ${command}\n\n${USAGE}`);
    return 2;
  }
  if (asksHelp(rest)) {
    console.log(usage);
    return 0;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (!(err instanceof UsageError || isParseArgsError(err))) throw err;
    console.error(`${command}: ${err.message}\n\n${usage}`);
    return 2;
  }
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
