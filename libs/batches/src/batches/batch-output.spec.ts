import { ApiError } from '@app/common';
import { batchRequestId, outputLine, retryDelayMs, succeeded } from './batch-output';

describe('batch output', () => {
  it("writes OpenAI's output line: an endpoint's answer, or an error for a line that never ran", () => {
    const answered = { statusCode: 200, requestId: 'chatcmpl-1', body: { ok: 1 }, error: null };
    expect(JSON.parse(outputLine('batch_abc', 3, 'c', answered))).toEqual({
      id: 'batch_req_abc_3',
      custom_id: 'c',
      response: { status_code: 200, request_id: 'chatcmpl-1', body: { ok: 1 } },
      error: null,
    });
    const cancelled = {
      statusCode: null,
      requestId: null,
      body: null,
      error: { code: 'batch_cancelled', message: 'm' },
    };
    expect(JSON.parse(outputLine('batch_abc', 0, 'd', cancelled))).toMatchObject({
      response: null,
      error: { code: 'batch_cancelled' },
    });
    expect(batchRequestId('batch_x', 12)).toBe('batch_req_x_12');
    expect([200, 299, 300, 400, null].map((s) => succeeded({ statusCode: s }))).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('waits out passing refusals (rate limits, full lanes, an engine down) and answers the others', () => {
    const err = (status: number, code: string, retryAfter?: string) =>
      new ApiError(status, 'x', { code, headers: retryAfter ? { 'retry-after': retryAfter } : {} });
    expect(retryDelayMs(err(429, 'rate_limit_exceeded', '3'))).toBe(3000);
    expect(retryDelayMs(err(429, 'rate_limit_exceeded', '600'))).toBe(30_000);
    expect(retryDelayMs(err(503, 'server_overloaded'))).toBe(1000);
    expect(retryDelayMs(err(503, 'engine_unavailable'))).toBe(1000);
    expect(retryDelayMs(err(429, 'insufficient_quota', '60'))).toBeNull();
    expect(retryDelayMs(err(400, 'invalid_request'))).toBeNull();
    expect(retryDelayMs(err(503, 'aborted'))).toBeNull();
  });
});
