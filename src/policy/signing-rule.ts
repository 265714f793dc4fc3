import { BundleUnsigned } from '../errors.ts';
import { isSigned, verifyBundleSignature, type BundleTrust } from './signature.ts';

/** When a bundle must be signed, and by whom. */
export interface SigningRule {
  /** Keys trusted to sign bundles; once any are given, a signature is required (OPA's rule). */
  readonly trust?: BundleTrust | undefined;
  readonly scope?: string | undefined;
  /** Accept unsigned bundles although keys are configured (`policy.signing.allow_unsigned`). */
  readonly allowUnsigned?: boolean | undefined;
  /** Refuse unsigned bundles even without keys (`policy.signing.require_signature`). */
  readonly requireSignature?: boolean | undefined;
}

/** What the rule made of a bundle. */
export interface SigningOutcome {
  /** The key id that verified the signature, or null for an unsigned bundle. */
  readonly signer: string | null;
  /** True when the bundle is unsigned and only `allowUnsigned` let it in: worth a loud log. */
  readonly unsignedAllowed: boolean;
}

/**
 * Applies the signing rule to a bundle's files: a signed bundle is verified against the
 * trusted keys (when there are any); an unsigned one is refused with `bundle_unsigned`
 * once keys are configured or a signature is required, unless `allowUnsigned` says so.
 */
export async function applySigningRule(files: ReadonlyMap<string, Buffer>, rule: SigningRule): Promise<SigningOutcome> {
  if (isSigned(files)) {
    if (rule.trust === undefined) return { signer: null, unsignedAllowed: false };
    const { signer } = await verifyBundleSignature(files, rule.trust, { scope: rule.scope });
    return { signer, unsignedAllowed: false };
  }
  const required = rule.trust !== undefined || rule.requireSignature === true;
  if (!required) return { signer: null, unsignedAllowed: false };
  if (rule.allowUnsigned === true && rule.requireSignature !== true) return { signer: null, unsignedAllowed: true };
  throw new BundleUnsigned(
    rule.trust !== undefined
      ? 'the bundle is not signed, and trusted keys are configured (policy.signing); ' +
          'policy.signing.allow_unsigned would accept it'
      : 'the bundle is not signed, and policy.signing.require_signature is on',
  );
}

/** Misuse of the rule's options is a TypeError at construction, not a refused bundle. */
export function checkSigningRule(rule: SigningRule): void {
  if (rule.allowUnsigned === true && rule.requireSignature === true) {
    throw new TypeError('allowUnsigned and requireSignature contradict each other');
  }
}
