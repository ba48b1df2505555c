import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { ApiError } from './openai-error';
import { toOpenAIError } from './to-openai-error';

describe('toOpenAIError', () => {
  it('keeps ApiError bodies and headers', () => {
    const r = toOpenAIError(
      new ApiError(429, 'slow down', { code: 'rate_limit_exceeded', headers: { 'retry-after': '3' } }),
    );
    expect(r).toEqual({
      status: 429,
      body: {
        error: { message: 'slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' },
      },
      headers: { 'retry-after': '3' },
      internal: false,
    });
  });

  it('maps Nest HttpExceptions by status', () => {
    expect(toOpenAIError(new NotFoundException('Cannot GET /x')).body.error).toEqual({
      message: 'Cannot GET /x',
      type: 'invalid_request_error',
      param: null,
      code: 'not_found',
    });
    expect(toOpenAIError(new BadRequestException(['a must be x', 'b must be y'])).body.error.message).toBe(
      'a must be x; b must be y',
    );
  });

  it.each([
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'request_too_large'],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'invalid_json'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'invalid_json'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'unsupported_media_type'],
  ])('maps Fastify %s (also when wrapped by Nest)', (code, status, openaiCode) => {
    const raw = Object.assign(new Error('boom'), { code, statusCode: status });
    expect(toOpenAIError(raw)).toMatchObject({ status, body: { error: { code: openaiCode } } });
    const wrapped = new HttpException('boom', status, { cause: raw });
    expect(toOpenAIError(wrapped)).toMatchObject({ status, body: { error: { code: openaiCode } } });
  });

  it('hides unexpected errors behind a 500', () => {
    const r = toOpenAIError(new Error('password=hunter2 in a stack'));
    expect(r.status).toBe(500);
    expect(r.internal).toBe(true);
    expect(JSON.stringify(r.body)).not.toContain('hunter2');
    expect(r.body.error.type).toBe('server_error');
    expect(toOpenAIError('a string').status).toBe(500);
    expect(toOpenAIError(undefined).status).toBe(500);
  });
});
