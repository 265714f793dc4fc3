import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundStateHash } from '../../src/session/ids.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const PEP = { authorization: 'Bearer mwk_task-tests-pep-0123456789abcdef' };
const BOUND_PEP = { authorization: 'Bearer mwk_task-tests-bound-0123456789abcdef' };

describe('POST /v1/bound-state', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService(
      {},
      {
        callers: {
          api_keys: [
            { id: 'gw', sha256: sha(PEP.authorization.slice(7)), role: 'pep' },
            {
              id: 'gw-other',
              sha256: sha(BOUND_PEP.authorization.slice(7)),
              role: 'pep',
              servers: ['https://mcp.example.com/other'],
            },
          ],
        },
      },
    );
  });
  afterAll(async () => {
    await s.app.close();
  });

  const bind = (payload: Record<string, unknown>, headers = PEP) =>
    s.app.inject({ method: 'POST', url: '/v1/bound-state', headers, payload });

  it('binds a task to the principal and its session, idempotently; another principal is refused', async () => {
    const token = await s.token({ sub: 'alice' });
    const session = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: PEP,
      payload: { token, server: SERVER },
    });
    const payload = { token, session: session.json().id, server: SERVER, kind: 'task', value: 'task-1' };
    const first = await bind(payload);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ id_hash: boundStateHash('task', SERVER, 'task-1'), expires_at: expect.any(String) });
    expect((await bind(payload)).statusCode).toBe(201);
    const bob = await bind({ token: await s.token({ sub: 'bob' }), server: SERVER, kind: 'task', value: 'task-1' });
    expect(bob.statusCode).toBe(403);
    expect(bob.json().code).toBe('task_owner_mismatch');
  });

  it('answers 400 naming the field at fault, 401 for the token, 403 for a key bound to other servers', async () => {
    const token = await s.token({ sub: 'alice' });
    const missing = await bind({ token, server: SERVER, kind: 'task' });
    expect(missing.statusCode).toBe(400);
    expect(JSON.stringify(missing.json())).toContain('value');
    const badKind = await bind({ token, server: SERVER, kind: 'session', value: 't' });
    expect(badKind.statusCode).toBe(400);
    expect(JSON.stringify(badKind.json())).toContain('kind');
    const extra = await bind({ token, server: SERVER, kind: 'task', value: 't', owner: 'bob' });
    expect(extra.statusCode).toBe(400);
    expect((await bind({ token: 'not-a-jwt', server: SERVER, kind: 'task', value: 't' })).statusCode).toBe(401);
    expect((await bind({ token, server: SERVER, kind: 'task', value: 't' }, BOUND_PEP)).statusCode).toBe(403);
  });
});
