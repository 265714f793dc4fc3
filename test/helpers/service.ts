import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load.ts';
import { createService } from '../../src/service.ts';

export interface TestService {
  app: FastifyInstance;
  dir: string;
  auditFile: string;
  /** Mints a dev token through the service's own dev route. */
  token(body?: Record<string, unknown>): Promise<string>;
}

/** The real service composition in dev mode, with its files in a fresh temp dir. */
export async function startTestService(
  server: Record<string, unknown> = {},
  more: Record<string, Record<string, unknown>> = {},
): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-'));
  const auditFile = join(dir, 'audit.jsonl');
  const audit = { file: auditFile, checkpoint_key_file: join(dir, 'checkpoint.json'), ...more.audit };
  const config = loadConfig({
    env: {},
    overrides: {
      server: { dev: true, dev_key_file: join(dir, 'dev-key.json'), ...server },
      ...more,
      audit,
    },
  });
  const app = await createService(config);
  return {
    app,
    dir,
    auditFile,
    async token(body = {}) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/dev/token',
        payload: { sub: 'alice', roles: ['reader'], server: 'https://mcp.example.com/files', ...body },
      });
      if (res.statusCode !== 200) throw new Error(`dev token: ${res.statusCode} ${res.body}`);
      return res.json().token as string;
    },
  };
}
