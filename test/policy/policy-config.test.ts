import { describe, expect, it } from 'vitest';
import { DEFAULT_LOAD_TIMEOUT_MS, policyConfigSchema } from '../../src/config/policy.ts';

const keys = { keys: [{ kty: 'OKP', kid: 'k1', crv: 'Ed25519', x: 'l8BzkbJwyg3qCPGHTL5xU1ywgEFnt1ccpy7HfrU0xPE' }] };

// The policy sub-schema's options for signing and loading (src/config/policy.ts).
describe('policy config: signing and load deadline', () => {
  it('defaults: unsigned bundles refused once keys are set (allow_unsigned off), a 2 s load deadline', () => {
    const parsed = policyConfigSchema.parse({});
    expect(parsed.signing).toEqual({ require_signature: false, allow_unsigned: false });
    expect(parsed.load_timeout_ms).toBe(DEFAULT_LOAD_TIMEOUT_MS);
    expect(DEFAULT_LOAD_TIMEOUT_MS).toBe(2_000);
    expect(policyConfigSchema.parse({ signing: { jwks: keys } }).signing.allow_unsigned).toBe(false);
  });

  it('accepts the explicit opt-out beside trusted keys', () => {
    expect(policyConfigSchema.parse({ signing: { jwks: keys, allow_unsigned: true } }).signing).toMatchObject({
      allow_unsigned: true,
    });
  });

  it('refuses allow_unsigned with require_signature, naming the field', () => {
    const result = policyConfigSchema.safeParse({
      signing: { jwks: keys, allow_unsigned: true, require_signature: true },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['signing', 'allow_unsigned'],
        message: 'allow_unsigned and require_signature contradict each other',
      }),
    ]);
  });

  it('refuses a load deadline that is not a whole number of milliseconds in range', () => {
    for (const bad of [0, 99, 1.5, 600_001, '2000']) {
      const result = policyConfigSchema.safeParse({ load_timeout_ms: bad });
      expect(result.error?.issues[0]?.path, String(bad)).toEqual(['load_timeout_ms']);
    }
  });
});
