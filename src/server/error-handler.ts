import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  type FieldError,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  RequestTimeout,
  SessionNotGranted,
  statusOf,
  UnsupportedMediaType,
  WardenError,
} from '../errors.ts';

/** Maps every failure to the one envelope `{code, message, errors?, reasons?}`. */
export function installErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setNotFoundHandler((request, reply) => {
    const err = new NotFound(`no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(NotFound.status).send({ code: err.code, message: err.message });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.flatMap(fieldErrors);
      return reply.code(InvalidRequest.status).send({
        code: InvalidRequest.code,
        message: `invalid ${error.validationContext ?? 'request'}: ${errors.map((e) => e.path || '(root)').join(', ')}`,
        errors,
      });
    }
    if (error instanceof SessionNotGranted) {
      const scopes = error.requiredScopes.length > 0 ? { required_scopes: error.requiredScopes } : {};
      return reply
        .code(statusOf(error.code))
        .send({ code: error.code, message: error.message, reasons: error.reasons, ...scopes });
    }
    if (error instanceof InvalidRequest || error instanceof PayloadTooLarge) {
      const errors = error.errors.length > 0 ? { errors: error.errors } : {};
      return reply.code(statusOf(error.code)).send({ code: error.code, message: error.message, ...errors });
    }
    if (error instanceof WardenError) {
      return reply.code(statusOf(error.code)).send({ code: error.code, message: error.message });
    }
    switch (error.code) {
      case 'FST_ERR_HANDLER_TIMEOUT':
        // The work goes on (a decision still writes its audit record); the caller treats the 503 as a deny.
        return reply.code(RequestTimeout.status).send({
          code: RequestTimeout.code,
          message: 'the request was not answered in time (server.request_timeout_ms)',
        });
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(PayloadTooLarge.status).send({
          code: PayloadTooLarge.code,
          message: `the request body exceeds ${bodyLimit} bytes`,
          errors: [{ path: '', message: `body larger than ${bodyLimit} bytes` }],
        });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply
          .code(UnsupportedMediaType.status)
          .send({ code: UnsupportedMediaType.code, message: 'send application/json' });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply.code(InvalidRequest.status).send({ code: InvalidRequest.code, message: error.message });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      // JSON syntax errors and other client faults fastify detected while parsing.
      return reply.code(InvalidRequest.status).send({ code: InvalidRequest.code, message: error.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(WardenError.status).send({ code: WardenError.code, message: 'internal error' });
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
