import type { AddressInfo } from 'node:net';
import { constants as osConstants } from 'node:os';
import { formatVerifierKey, type NoteVerifier, verifierOf } from '../audit/signed-note.ts';
import { FileWitnessStore } from '../witness/file-store.ts';
import { createWitnessServer } from '../witness/http-server.ts';
import { parseLogKeys } from '../witness/log-keys.ts';
import { PostgresWitnessStore } from '../witness/postgres-store.ts';
import type { WitnessStore } from '../witness/store.ts';
import { DEFAULT_WITNESS_NAME, loadWitnessSigner } from '../witness/witness-key.ts';
import { parseFlags, UsageError } from './args.ts';

const SERVE_OPTIONS = {
  listen: { type: 'string' },
  'key-file': { type: 'string' },
  name: { type: 'string' },
  log: { type: 'string', multiple: true },
  state: { type: 'string' },
  postgres: { type: 'string' },
  'table-prefix': { type: 'string' },
} as const;

const KEY_OPTIONS = { 'key-file': { type: 'string' }, name: { type: 'string' } } as const;

/** Where `witness serve` listens unless told. */
export const DEFAULT_WITNESS_LISTEN = '127.0.0.1:8182';

/**
 * `mcp-warden witness [serve]`: a C2SP tlog-witness (docs/witness.md) cosigning the
 * checkpoints of the `--log` keys' logs; `mcp-warden witness key`: its cosignature/v1
 * verifier key. Serving answers -1 and runs until SIGTERM or SIGINT.
 */
export async function witnessCommand(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'key') return keyCommand(rest);
  if (verb === 'serve') return serve(rest);
  if (verb === undefined || verb.startsWith('-')) return serve(args);
  throw new UsageError(`unknown verb ${JSON.stringify(verb)}: serve or key?`);
}

async function keyCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, KEY_OPTIONS);
  const { signer, created } = await loadWitnessSigner(keyFile(values['key-file']), witnessName(values.name));
  if (created) console.error(`witness: created a new key in ${values['key-file']}`);
  console.log(formatVerifierKey(verifierOf(signer)));
  return 0;
}

async function serve(args: string[]): Promise<number> {
  const values = parseFlags(args, SERVE_OPTIONS);
  const { host, port } = parseListen(values.listen ?? DEFAULT_WITNESS_LISTEN);
  const logKeys = logKeysOf(values.log ?? []);
  const { store, where } = storeOf(values);
  const name = witnessName(values.name);
  const file = keyFile(values['key-file']);
  const { signer, created } = await loadWitnessSigner(file, name);
  if (created) console.error(`witness: created a new key in ${file}`);
  try {
    await store.start();
  } catch (err) {
    console.error(`witness: cannot open its state: ${(err as Error).message}`);
    return 1;
  }
  const server = createWitnessServer({
    context: { store, logKeys, signer, now: () => Math.floor(Date.now() / 1000) },
    log: (line) => console.error(line),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    await store.stop();
    console.error(
      `witness: cannot listen on ${hostPort(host, port)}: ${(err as Error).message} (choose with --listen)`,
    );
    return 1;
  }
  const { port: bound } = server.address() as AddressInfo;
  console.error(
    `witness: ${formatVerifierKey(verifierOf(signer))} cosigning for ${describeKeys(logKeys)}; ` + `state in ${where}`,
  );
  console.log(`witness listening on http://${hostPort(host, bound)}`);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(128 + (osConstants.signals[signal] ?? 0));
    stopping = true;
    console.error(`witness: ${signal}: closing`);
    server.close();
    server.closeIdleConnections();
    // The listener is closed: in-flight requests finish, then the state is released.
    server.once('close', () => {
      store.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`witness: closing its state failed: ${(err as Error).message}`);
          process.exit(1);
        },
      );
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return -1;
}

function keyFile(value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError('--key-file <file> is required: the witness key');
  return value;
}

function witnessName(value: string | undefined): string {
  const name = value ?? DEFAULT_WITNESS_NAME;
  if (name === '' || /[\s+]/u.test(name)) throw new UsageError(`--name ${JSON.stringify(name)} has a space or a +`);
  return name;
}

function logKeysOf(vkeys: readonly string[]): NoteVerifier[] {
  // Deny by default: a witness trusting no log would only ever answer 404.
  if (vkeys.length === 0) throw new UsageError('--log <vkey> is required (repeat it for more logs)');
  try {
    return parseLogKeys(vkeys);
  } catch (err) {
    throw new UsageError(`--log: ${(err as Error).message}`);
  }
}

function storeOf(values: { state?: string; postgres?: string; 'table-prefix'?: string }): {
  store: WitnessStore;
  where: string;
} {
  const { state, postgres } = values;
  if ((state === undefined) === (postgres === undefined))
    throw new UsageError('give one of --state <file> or --postgres <url>: where the witness keeps its state');
  if (state !== undefined) {
    if (values['table-prefix'] !== undefined) throw new UsageError('--table-prefix goes with --postgres');
    return { store: new FileWitnessStore(state), where: state };
  }
  try {
    const store = new PostgresWitnessStore({ url: postgres as string, tablePrefix: values['table-prefix'] ?? '' });
    return { store, where: `the PostgreSQL table ${store.table}` };
  } catch (err) {
    throw new UsageError(`--table-prefix: ${(err as Error).message}`);
  }
}

/** `host:port` or `[v6 address]:port`. */
function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535)
    throw new UsageError(`--listen expects <host>:<port> or [<ipv6>]:<port>, port 0 to 65535, not ${value}`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function describeKeys(keys: readonly NoteVerifier[]): string {
  return keys.map((k) => `${k.name}/… (${k.keyId.toString('hex')})`).join(', ');
}
