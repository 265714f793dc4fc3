import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../src/decision/decide.ts';
import { REQUEST_STATE_TTL_MS, sealForPrincipal } from '../../src/decision/request-state.ts';
import { loadOrCreateSecretKey } from '../../src/keys/secret-key.ts';
import { createTestCore, PEP, type TestCore } from '../helpers/core.ts';
import { SERVER } from '../helpers/tokens.ts';

const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

describe('MRTR requestState sealed to its principal', () => {
  let t: TestCore;
  let alice: string;
  beforeEach(async () => {
    t = await createTestCore();
    alice = await t.idp.mint({}, { subject: 'alice' });
  });

  const retry = (token: string, requestState: unknown, server = SERVER) =>
    decide(
      t.deps,
      {
        token,
        server,
        mcp: { method: 'tools/call', params: { name: 'fs_read', arguments: { path: '/srv/data/a' }, requestState } },
      } as never,
      PEP,
    );

  it('unseals for the owner: the decision carries the upstream value, and the sealing is audited', async () => {
    const { request_state: sealed } = await sealForPrincipal(
      t.deps,
      { token: alice, server: SERVER, request_state: 'upstream-1' },
      PEP,
    );
    expect(sealed).toMatch(/^mwr_/);
    expect(sealed).not.toContain('upstream-1');
    const decision = await retry(alice, sealed);
    expect(decision).toMatchObject({ allow: true, request_state: 'upstream-1' });
    expect(t.audit.saved.map((r) => r.kind)).toEqual(['request_state.sealed', 'decision']);
    expect(t.audit.saved[1]?.detail?.request_state).toBe(t.audit.saved[0]?.detail?.request_state);
    expect(JSON.stringify(t.audit.saved)).not.toContain('upstream-1');
  });

  it('refuses another principal (audited), another server, an expired one, and one of another key', async () => {
    const { request_state: sealed } = await sealForPrincipal(
      t.deps,
      { token: alice, server: SERVER, request_state: 'upstream-1' },
      PEP,
    );
    const bob = await retry(await t.idp.mint({}, { subject: 'bob' }), sealed);
    expect(bob).toMatchObject({ allow: false });
    expect(bob.request_state).toBeUndefined();
    expect(codes(bob)).toEqual(['request_state_owner_mismatch']);
    expect(t.audit.saved.filter((r) => r.kind === 'request_state.owner_mismatch')).toEqual([
      expect.objectContaining({ principal: expect.objectContaining({ sub: 'bob' }) }),
    ]);
    const other = await retry(
      await t.idp.mint({}, { subject: 'alice', audience: 'https://mcp.example.com/other' }),
      sealed,
      'https://mcp.example.com/other',
    );
    expect(codes(other)).toEqual(['request_state_invalid']);
    const elsewhere = await createTestCore();
    const foreign = await sealForPrincipal(
      elsewhere.deps,
      { token: await elsewhere.idp.mint({}, { subject: 'alice' }), server: SERVER, request_state: 'x' },
      PEP,
    );
    expect(codes(await retry(alice, foreign.request_state))).toEqual(['request_state_invalid']);
    t.clock.advance(REQUEST_STATE_TTL_MS);
    expect(codes(await retry(await t.idp.mint({}, { subject: 'alice' }), sealed))).toEqual(['request_state_invalid']);
  });

  it('refuses what it did not seal, and seals nothing it cannot record or carry', async () => {
    for (const state of ['upstream-1', 'mwr_', '', 7]) {
      expect(codes(await retry(alice, state)), String(state)).toEqual(['request_state_invalid']);
    }
    await expect(
      sealForPrincipal(t.deps, { token: alice, server: SERVER, request_state: 'x'.repeat(70_000) }, PEP),
    ).rejects.toMatchObject({ code: 'request_state_invalid' });
    t.audit.failing = true;
    await expect(
      sealForPrincipal(t.deps, { token: alice, server: SERVER, request_state: 'x' }, PEP),
    ).rejects.toMatchObject({ code: 'audit_unavailable' });
  });
});

describe('loadOrCreateSecretKey', () => {
  it('makes a 32-byte key once (mode 0600), reads the same one back, refuses a bad file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-warden-key-'));
    const file = join(dir, 'state.key');
    const made = loadOrCreateSecretKey(file);
    expect(made).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecretKey(file)).toEqual(made);
    expect(readFileSync(file, 'utf8').trim()).toBe(Buffer.from(made).toString('base64url'));
    writeFileSync(file, 'c2hvcnQ\n');
    expect(() => loadOrCreateSecretKey(file)).toThrow(/32-byte key/);
  });
});
