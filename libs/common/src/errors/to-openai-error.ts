import { HttpException } from '@nestjs/common';
import { ApiError, OpenAIErrorBody, openAIErrorBody } from './openai-error';

export interface RenderedError {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
  /** True for unexpected errors (logged with their stack, message hidden from the client). */
  internal: boolean;
}

/** Fastify's own request errors (body parsing, limits) by their code. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'request_too_large',
    message: 'Request body is too large.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'invalid_json',
    message: "Body cannot be empty when content-type is set to 'application/json'.",
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
};

interface ErrorLike {
  message?: unknown;
  statusCode?: unknown;
  status?: unknown;
  code?: unknown;
}

function messageOf(response: unknown, fallback: string): string {
  if (typeof response === 'string') return response;
  if (response && typeof response === 'object') {
    const m = (response as { message?: unknown }).message;
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length > 0) return m.map(String).join('; ');
  }
  return fallback;
}

function fastifyError(err: unknown): RenderedError | null {
  const e = (err ?? {}) as ErrorLike;
  const known = typeof e.code === 'string' ? FASTIFY_ERRORS[e.code] : undefined;
  if (!known) return null;
  const message = known.message ?? (typeof e.message === 'string' ? e.message : 'Bad request.');
  return {
    status: known.status,
    body: openAIErrorBody(known.status, message, { code: known.code }),
    headers: {},
    internal: false,
  };
}

/** Maps any thrown value to an HTTP status and an OpenAI-shaped error body. */
export function toOpenAIError(err: unknown): RenderedError {
  if (err instanceof ApiError) {
    return { status: err.getStatus(), body: err.body, headers: err.headers, internal: false };
  }
  if (err instanceof HttpException) {
    // Fastify's errors (body parsing, limits) arrive wrapped by Nest, the original as cause.
    const cause = fastifyError(err.cause);
    if (cause) return cause;
    const status = err.getStatus();
    const message = messageOf(err.getResponse(), err.message);
    return {
      status,
      body: openAIErrorBody(status, status >= 500 ? 'Internal server error.' : message),
      headers: {},
      internal: status >= 500,
    };
  }
  const e = (err ?? {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const known = code ? FASTIFY_ERRORS[code] : undefined;
  if (known) {
    const message = known.message ?? (typeof e.message === 'string' ? e.message : 'Bad request.');
    return {
      status: known.status,
      body: openAIErrorBody(known.status, message, { code: known.code }),
      headers: {},
      internal: false,
    };
  }
  if (err instanceof SyntaxError) {
    return {
      status: 400,
      body: openAIErrorBody(400, `Invalid JSON body: ${err.message}`, { code: 'invalid_json' }),
      headers: {},
      internal: false,
    };
  }
  const status = Number(e.statusCode ?? e.status);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    const message = typeof e.message === 'string' ? e.message : 'Bad request.';
    return { status, body: openAIErrorBody(status, message), headers: {}, internal: false };
  }
  return { status: 500, body: openAIErrorBody(500, 'Internal server error.'), headers: {}, internal: true };
}
