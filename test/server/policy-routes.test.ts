import { copyFileSync, mkdtempSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { repackBundle } from '../policy/repack.ts';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const ADMIN = { authorization: 'Bearer mwk_policy-routes-admin-0123456789ab' };

describe('POST /v1/admin/reload: no rollback unless asked for this reload', () => {
  let s: TestService;
  let bundle: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-policy-routes-'));
    bundle = join(dir, 'bundle.tar.gz');
    await repackBundle(join(ROOT, 'bundles/default.tar.gz'), bundle, { revision: '20261202T120000Z-b' });
    s = await startTestService(
      {},
      {
        callers: { api_keys: [{ id: 'ops', sha256: sha(ADMIN.authorization.slice(7)), role: 'admin' }] },
        policy: { bundle, watch: false },
      },
    );
  });
  afterAll(async () => {
    await s.app.close();
  });

  it(
    'an older revision is refused (422 bundle_rollback) and the active one stays; allow_rollback=true ' + 'takes it',
    async () => {
      const older = join(s.dir, 'older.tar.gz');
      await repackBundle(join(ROOT, 'bundles/default.tar.gz'), older, { revision: '20261101T120000Z-a' });
      copyFileSync(older, bundle);

      const refused = await s.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: ADMIN });
      expect(refused.statusCode).toBe(422);
      expect(refused.json().code).toBe('bundle_rollback');
      const status = await s.app.inject({ method: 'GET', url: '/v1/status', headers: ADMIN });
      expect(status.json().revision).toBe('20261202T120000Z-b');

      const bad = await s.app.inject({ method: 'POST', url: '/v1/admin/reload?allow_rollback=yes', headers: ADMIN });
      expect(bad.statusCode).toBe(400);

      const taken = await s.app.inject({ method: 'POST', url: '/v1/admin/reload?allow_rollback=true', headers: ADMIN });
      expect(taken.statusCode).toBe(200);
      expect(taken.json().revision).toBe('20261101T120000Z-a');
    },
  );
});
