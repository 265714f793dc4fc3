// The real service (embedded default: memory sessions, file audit), dev mode off, trusting
// the issuer whose config arrives as JSON in BENCH_ISSUER_CONFIG. Prints its port on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { createService } from '../../src/service.ts';

const issuer = JSON.parse(process.env.BENCH_ISSUER_CONFIG ?? 'null') as unknown;
if (issuer === null) throw new Error('BENCH_ISSUER_CONFIG is not set');
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-http-'));
const config = loadConfig({
  env: {},
  overrides: {
    server: { host: '127.0.0.1', port: 0, dev: false },
    identity: { issuers: [issuer] },
    audit: { file: join(dir, 'audit.jsonl') },
  },
});
const app = await createService(config, false).catch((err: unknown) => {
  rmSync(dir, { recursive: true, force: true });
  throw err;
});
await app.listen({ host: config.server.host, port: config.server.port });
const address = app.server.address();
console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : null }));
process.once(
  'SIGTERM',
  () =>
    void app.close().then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }),
);
