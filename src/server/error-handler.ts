import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  type FieldError,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  RequestTimeout,
  SessionNotGranted,
  UnsupportedMediaType,
  WardenError,
} from '../errors.ts';

/** HTTP status of each coded error that reaches the HTTP layer. */
const STATUS: Record<string, number> = {
  invalid_request: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  token_missing: 401,
  invalid_token: 401,
  token_too_large: 401,
  algorithm_not_allowed: 401,
  signature_invalid: 401,
  key_unknown: 401,
  jwks_unavailable: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  claim_missing: 401,
  claim_invalid: 401,
  token_type_invalid: 401,
  issuer_untrusted: 401,
  trust_domain_untrusted: 401,
  audience_mismatch: 401,
  server_unknown: 401,
  caller_unauthenticated: 401,
  caller_forbidden: 403,
  dev_mode_required: 403,
  session_not_granted: 403,
  session_forbidden: 403,
  session_limit_reached: 429,
  rate_limited: 429,
  request_timeout: 503,
  shutting_down: 503,
  session_unknown: 404,
  session_kind_mismatch: 400,
  session_owner_mismatch: 403,
  session_server_mismatch: 403,
  session_revoked: 410,
  session_expired: 410,
  not_found: 404,
  bundle_invalid: 422,
  policy_unavailable: 503,
  session_store_unavailable: 503,
  audit_unavailable: 503,
};

/** Maps every failure to the one envelope `{code, message, errors?, reasons?}`. */
export function installErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setNotFoundHandler((request, reply) => {
    const err = new NotFound(`no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send({ code: err.code, message: err.message });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.flatMap(fieldErrors);
      return reply.code(400).send({
        code: InvalidRequest.code,
        message: `invalid ${error.validationContext ?? 'request'}: ${errors.map((e) => e.path || '(root)').join(', ')}`,
        errors,
      });
    }
    if (error instanceof SessionNotGranted) {
      return reply.code(403).send({ code: error.code, message: error.message, reasons: error.reasons });
    }
    if (error instanceof InvalidRequest || error instanceof PayloadTooLarge) {
      const errors = error.errors.length > 0 ? { errors: error.errors } : {};
      return reply.code(STATUS[error.code] as number).send({ code: error.code, message: error.message, ...errors });
    }
    if (error instanceof WardenError) {
      return reply.code(STATUS[error.code] ?? 500).send({ code: error.code, message: error.message });
    }
    switch (error.code) {
      case 'FST_ERR_HANDLER_TIMEOUT':
        // The work goes on (a decision still writes its audit record); the caller treats the 503 as a deny.
        return reply.code(503).send({ code: RequestTimeout.code, message: 'the request was not answered in time (server.request_timeout_ms)' });
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send({
          code: PayloadTooLarge.code,
          message: `the request body exceeds ${bodyLimit} bytes`,
          errors: [{ path: '', message: `body larger than ${bodyLimit} bytes` }],
        });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send({ code: UnsupportedMediaType.code, message: 'send application/json' });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply.code(400).send({ code: InvalidRequest.code, message: error.message });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      // JSON syntax errors and other client faults fastify detected while parsing.
      return reply.code(400).send({ code: InvalidRequest.code, message: error.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ code: WardenError.code, message: 'internal error' });
  });
}

/** One entry per wrong field, naming unrecognized keys themselves. */
function fieldErrors(item: {
  keyword: string;
  instancePath: string;
  message?: string | undefined;
  params?: Record<string, unknown> | undefined;
}): FieldError[] {
  const base = item.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  const keys = item.params?.keys;
  if (item.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
    return keys.map((key) => ({ path: base ? `${base}.${String(key)}` : String(key), message: 'unknown field' }));
  }
  return [{ path: base, message: item.message ?? 'invalid' }];
}
