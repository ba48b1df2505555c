import { ApiError } from '@app/common';

/** What one line of a batch came to: the endpoint's answer, or an error for a line that never ran. */
export interface LineOutcome {
  /** The endpoint's HTTP status; null when the line did not run (cancelled, expired). */
  statusCode: number | null;
  requestId: string | null;
  body: unknown;
  error: { code: string; message: string } | null;
}

export const succeeded = (o: { statusCode: number | null }) =>
  o.statusCode !== null && o.statusCode >= 200 && o.statusCode < 300;

/** The output file's line id of a request (`batch_req_...`). */
export function batchRequestId(batchId: string, index: number): string {
  return `batch_req_${batchId.replace(/^batch_/, '')}_${index}`;
}

/** One line of a batch's output or error file, as OpenAI writes them. */
export function outputLine(batchId: string, index: number, customId: string, o: LineOutcome): string {
  return JSON.stringify({
    id: batchRequestId(batchId, index),
    custom_id: customId,
    response:
      o.statusCode === null ? null : { status_code: o.statusCode, request_id: o.requestId, body: o.body },
    error: o.error,
  });
}

/** Codes of refusals that pass: the line waits and runs again instead of failing. */
const RETRYABLE_CODES = new Set([
  'rate_limit_exceeded', // tokens per minute, or the tenant's share of the batch lane
  'server_overloaded',
  'engine_unavailable',
  'service_unavailable',
  'quota_store_unavailable',
]);

/**
 * How long to wait before a refused line runs again, or null when the refusal is its answer
 * (a bad request, an exhausted budget: `insufficient_quota`).
 */
export function retryDelayMs(err: ApiError): number | null {
  const status = err.getStatus();
  if (status !== 429 && status !== 503) return null;
  if (!RETRYABLE_CODES.has(String(err.body.error.code))) return null;
  const after = Number(err.headers['retry-after']);
  return Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30_000) : 1000;
}
