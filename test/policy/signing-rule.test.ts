import { describe, expect, it } from 'vitest';
import { applySigningRule, checkSigningRule, type SigningRule } from '../../src/policy/signing-rule.ts';

const trust = {
  keys: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'l8BzkbJwyg3qCPGHTL5xU1ywgEFnt1ccpy7HfrU0xPE', kid: 'k1' }] },
};
const unsigned = new Map([['policy.wasm', Buffer.from('x')]]);

const cases: {
  note: string;
  rule: SigningRule;
  want: { signer: null; unsignedAllowed: boolean } | { code: string; message: RegExp };
}[] = [
  { note: 'no keys, nothing required: unsigned is fine', rule: {}, want: { signer: null, unsignedAllowed: false } },
  {
    note: 'keys configured: unsigned is refused (OPA rule)',
    rule: { trust },
    want: { code: 'bundle_unsigned', message: /trusted keys are configured.*allow_unsigned would accept it/ },
  },
  {
    note: 'keys and the opt-out: accepted, flagged for a warning',
    rule: { trust, allowUnsigned: true },
    want: { signer: null, unsignedAllowed: true },
  },
  {
    note: 'require_signature without keys: refused',
    rule: { requireSignature: true },
    want: { code: 'bundle_unsigned', message: /require_signature is on/ },
  },
  {
    note: 'the opt-out alone, without keys: nothing to opt out of',
    rule: { allowUnsigned: true },
    want: { signer: null, unsignedAllowed: false },
  },
];

describe('the signing rule', () => {
  for (const c of cases) {
    it(c.note, async () => {
      const outcome = await applySigningRule(unsigned, c.rule).catch((err: unknown) => err);
      if ('code' in c.want)
        expect(outcome).toMatchObject({ code: c.want.code, message: expect.stringMatching(c.want.message) });
      else expect(outcome).toEqual(c.want);
    });
  }

  it('a signed bundle is verified once keys are configured: a broken signature file is refused', async () => {
    const signed = new Map([...unsigned, ['.signatures.json', Buffer.from('{"signatures":["a.b.c"]}')]]);
    await expect(applySigningRule(signed, { trust, allowUnsigned: true })).rejects.toMatchObject({
      code: 'bundle_invalid',
    });
  });

  it('allowUnsigned with requireSignature is misuse', () => {
    expect(() => checkSigningRule({ allowUnsigned: true, requireSignature: true })).toThrow(TypeError);
    expect(() => checkSigningRule({ allowUnsigned: true, trust })).not.toThrow();
  });
});
