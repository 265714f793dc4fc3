import { errors } from 'jose';
import {
  AlgorithmNotAllowed,
  AudienceMismatch,
  ClaimInvalid,
  ClaimMissing,
  IssuerUntrusted,
  SignatureInvalid,
  TokenExpired,
  TokenInvalid,
  TokenIssuedInFuture,
  TokenNotYetValid,
  TokenTooOld,
  TokenTypeInvalid,
  WardenError,
} from '../errors.ts';

/** Maps a jose verification failure to the coded error of its cause. */
export function fromJoseError(err: unknown, audience: string): WardenError {
  if (err instanceof WardenError) return err; // from our key resolver
  if (err instanceof errors.JWTExpired) {
    // jose reports a token beyond `maxTokenAge` as expired, on its `iat`.
    if (err.claim === 'iat') return new TokenTooOld('the token is older than its issuer allows (iat)');
    return new TokenExpired('the token has expired');
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new AlgorithmNotAllowed('the token algorithm is not allowed for its issuer');
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new SignatureInvalid('the token signature does not verify');
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return new AudienceMismatch(`the token was not issued for ${audience}`);
      case 'iss':
        return new IssuerUntrusted('the token issuer is not trusted');
      case 'nbf':
        return new TokenNotYetValid('the token is not valid yet (nbf)');
      case 'typ':
        return new TokenTypeInvalid('the token type (typ) is not the one required');
      case 'iat':
        if (err.reason === 'check_failed')
          return new TokenIssuedInFuture('the token claims to be issued in the future (iat)');
    }
    if (err.reason === 'missing') return new ClaimMissing(`the token lacks the required claim ${err.claim}`);
    return new ClaimInvalid(`the token claim ${err.claim} is invalid`);
  }
  return new TokenInvalid('the token is not a well-formed JWT');
}
