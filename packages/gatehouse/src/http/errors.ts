import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, GatehouseError } from '../errors.js';

/** Fastify's own error codes for malformed input, mapped onto ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_VALIDATION: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid_request',
};

/** Other 4xx errors thrown by Fastify or its plugins (e.g. `send` refusing a path), by status. */
const STATUS_CODES: Record<number, ErrorCode> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

/** The JSON body of every refusal: `{ error, message }`. */
export function sendError(reply: FastifyReply, error: GatehouseError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).send(error.toJSON());
}

/**
 * Every error becomes a JSON refusal with a stable code. Client mistakes are 4xx and logged at
 * debug; anything else is a 500 whose details stay in the log, never in the response.
 */
export function errorHandler(error: FastifyError | GatehouseError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof GatehouseError) {
    if (error.code === 'store_unavailable') request.log.error({ err: error.cause ?? error }, 'session store unavailable');
    return sendError(reply, error);
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) {
    const message = mapped === 'invalid_request' && error.validation ? `Invalid request: ${error.message}` : undefined;
    return sendError(reply, new GatehouseError(mapped, message ? { message } : {}));
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return sendError(reply, new GatehouseError(STATUS_CODES[status] ?? 'invalid_request'));
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, new GatehouseError('internal_error'));
}
