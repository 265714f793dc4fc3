import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startTestService } from '../helpers/service.ts';

const SERVER = 'https://mcp.example.com/files';

describe('the decision log', () => {
  it('holds one line per decision and never a token or a session id in clear', async () => {
    const s = await startTestService();
    const token = await s.token();
    const created = await s.app.inject({ method: 'POST', url: '/v1/sessions', payload: { token, server: SERVER } });
    const id = created.json().id as string;
    const calls = [
      {
        token,
        server: SERVER,
        session: id,
        mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' } } },
      },
      {
        token,
        server: SERVER,
        mcp: { method: 'tools/call', params: { name: 'fs_delete', arguments: { path: '/srv/data/a' } } },
      },
      { token: `${token}x`, server: SERVER, mcp: { method: 'ping' } },
    ];
    for (const payload of calls) {
      expect((await s.app.inject({ method: 'POST', url: '/v1/decide', payload })).statusCode).toBe(200);
    }
    await s.app.inject({ method: 'DELETE', url: `/v1/sessions/${id}`, payload: { token } });
    await s.app.close();

    const text = readFileSync(s.auditFile, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Between the chain's start record and the close record app.close() writes.
    expect(lines.map((l) => l.kind)).toEqual([
      'audit.chain_started',
      'session.created',
      'decision',
      'decision',
      'decision',
      'session.revoked',
      'audit.chain_closed',
    ]);
    const decisions = lines.filter((l) => l.kind === 'decision');
    expect(decisions.map((l) => l.allow)).toEqual([true, false, false]);
    for (const l of decisions) {
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining([
          'decision_id',
          'caller',
          'principal',
          'session',
          'server',
          'method',
          'tool',
          'allow',
          'reasons',
          'policy_revision',
        ]),
      );
    }
    // No token, nor any of its three parts, nor the session id appears anywhere.
    for (const secret of [token, ...token.split('.'), id, id.slice(4)]) expect(text).not.toContain(secret);
    expect(text).toContain(created.json().id_hash);
  });
});

describe('masking', () => {
  it('masks secret-named arguments at any depth and configured pointers before writing', async () => {
    const s = await startTestService({}, { audit: { mask_pointers: ['/query/text'] } });
    const token = await s.token();
    const payload = {
      token,
      server: SERVER,
      mcp: {
        method: 'tools/call',
        params: {
          name: 'search_docs',
          arguments: {
            query: { text: 'patient 4711 diagnosis', lang: 'en' },
            auth: { Password: 'hunter2', api_key: 'sk-live-123' },
          },
        },
      },
    };
    expect((await s.app.inject({ method: 'POST', url: '/v1/decide', payload })).statusCode).toBe(200);
    await s.app.close();
    const text = readFileSync(s.auditFile, 'utf8');
    for (const secret of ['hunter2', 'sk-live-123', 'patient 4711']) expect(text).not.toContain(secret);
    // The decision, the last record before the close record app.close() writes.
    const [line, close] = text
      .trim()
      .split('\n')
      .slice(-2)
      .map((l) => JSON.parse(l));
    expect(close.kind).toBe('audit.chain_closed');
    expect(line.kind).toBe('decision');
    expect(line.input.arguments).toEqual({
      query: { text: '[masked]', lang: 'en' },
      auth: { Password: '[masked]', api_key: '[masked]' },
    });
  });
});
