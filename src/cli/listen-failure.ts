import { createServer } from 'node:net';

/** Where a command listens, and the config section (`server`, `proxy`) whose `host`/`port` set it. */
export interface ListenTarget {
  readonly host: string;
  readonly port: number;
  readonly section: 'server' | 'proxy';
}

/**
 * Why a listener could not bind, said so that an operator can fix it: the address, the
 * reason, and the flag or setting that changes it.
 */
export function listenFailure(err: unknown, target: ListenTarget): string {
  const { host, port, section } = target;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const otherPort = `choose another with --port <n> or ${section}.port`;
  switch ((err as { code?: unknown }).code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is already in use; ${otherPort} (--port 0 picks a free one)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (a port below 1024 needs privileges); ${otherPort}`;
    case 'EADDRNOTAVAIL':
      return (
        `cannot listen on ${where}: no such address on this machine; ` + `choose another with --host or ${section}.host`
      );
    default:
      return `cannot listen on ${where}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Why `target` cannot be listened on now, or null: a listener bound and closed at once. For a
 * process that hands the port to others (the workers' primary), which would otherwise only
 * see them fail one after another.
 */
export function probeListen(target: ListenTarget): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err) => resolve(listenFailure(err, target)));
    server.listen(target.port, target.host, () => server.close(() => resolve(null)));
  });
}
