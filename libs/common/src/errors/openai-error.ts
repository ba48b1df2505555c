import { HttpException } from '@nestjs/common';

/** OpenAI's error body: {"error": {"message", "type", "param", "code"}}. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ApiErrorOptions {
  type?: string;
  code?: string | null;
  param?: string | null;
  headers?: Record<string, string>;
}

const TYPE_BY_STATUS: Record<number, string> = {
  401: 'invalid_request_error',
  403: 'permission_error',
  429: 'rate_limit_error',
  500: 'server_error',
  502: 'server_error',
  503: 'server_error',
  504: 'server_error',
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'request_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limit_exceeded',
  500: 'internal_error',
  503: 'service_unavailable',
};

export function errorTypeForStatus(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
}

export function errorCodeForStatus(status: number): string | null {
  return CODE_BY_STATUS[status] ?? null;
}

export function openAIErrorBody(
  status: number,
  message: string,
  options: Omit<ApiErrorOptions, 'headers'> = {},
): OpenAIErrorBody {
  return {
    error: {
      message,
      type: options.type ?? errorTypeForStatus(status),
      param: options.param ?? null,
      code: options.code === undefined ? errorCodeForStatus(status) : options.code,
    },
  };
}

/** An HTTP error rendered in OpenAI's shape by the global exception filter. */
export class ApiError extends HttpException {
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: ApiErrorOptions = {}) {
    super(openAIErrorBody(status, message, options), status);
    this.headers = options.headers ?? {};
  }

  get body(): OpenAIErrorBody {
    return this.getResponse() as OpenAIErrorBody;
  }

  static badRequest(message: string, param: string | null = null, code = 'invalid_request') {
    return new ApiError(400, message, { param, code });
  }
  static unauthorized(message = 'Incorrect API key provided.', code = 'invalid_api_key') {
    return new ApiError(401, message, { code });
  }
  static forbidden(message = 'You do not have access to this resource.', code = 'forbidden') {
    return new ApiError(403, message, { code });
  }
  static notFound(message: string, code = 'not_found', param: string | null = null) {
    return new ApiError(404, message, { code, param });
  }
  static conflict(message: string, param: string | null = null, code = 'conflict') {
    return new ApiError(409, message, { code, param });
  }
  static unavailable(message: string, code = 'service_unavailable', headers: Record<string, string> = {}) {
    return new ApiError(503, message, { code, headers });
  }
}
