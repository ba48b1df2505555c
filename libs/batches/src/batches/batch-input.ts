import type { RequestKind } from '@app/inference';

/** What a batch line is: a request kind of the inference API, or a response (/v1/responses). */
export type BatchKind = RequestKind | 'response';

/** The endpoints a batch may target, and the kind of request each line is. */
export const BATCH_ENDPOINTS: Readonly<Record<string, BatchKind>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completion',
  '/v1/embeddings': 'embedding',
  '/v1/responses': 'response',
};

/** One request of a batch input file. */
export interface BatchLine {
  /** 0-based position among the file's requests: the key of its result. */
  index: number;
  customId: string;
  body: Record<string, unknown>;
}

/** A validation error of the input file, as OpenAI's batch `errors.data[]` has them. */
export interface BatchInputError {
  code: string;
  message: string;
  param: string | null;
  /** 1-based line number of the file, or null for the whole file. */
  line: number | null;
}

/** Validation stops after this many errors (the batch fails either way). */
const MAX_ERRORS = 100;

/**
 * Parses a batch input file (JSONL: `{custom_id, method: "POST", url, body}` per line) for one
 * endpoint. Blank lines are skipped; every other line must be a request with a unique custom_id.
 */
export function parseBatchInput(
  content: Buffer,
  endpoint: string,
  maxRequests: number,
): { lines: BatchLine[]; errors: BatchInputError[] } {
  const lines: BatchLine[] = [];
  const errors: BatchInputError[] = [];
  const seen = new Set<string>();
  const fail = (code: string, message: string, line: number | null, param: string | null = null) =>
    errors.push({ code, message, param, line });
  const rows = content.toString('utf8').split('\n');
  for (let i = 0; i < rows.length && errors.length < MAX_ERRORS; i++) {
    const text = rows[i].trim();
    if (text === '') continue;
    const lineNo = i + 1;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      fail('invalid_json_line', `Line ${lineNo} is not valid JSON.`, lineNo);
      continue;
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      fail('invalid_request', `Line ${lineNo} must be a JSON object.`, lineNo);
      continue;
    }
    const { custom_id: customId, method, url, body } = row as Record<string, unknown>;
    if (typeof customId !== 'string' || customId === '') {
      fail(
        'missing_required_parameter',
        `Line ${lineNo} needs a non-empty string custom_id.`,
        lineNo,
        'custom_id',
      );
      continue;
    }
    if (seen.has(customId)) {
      fail(
        'duplicate_custom_id',
        `custom_id "${customId}" of line ${lineNo} is used by an earlier line.`,
        lineNo,
        'custom_id',
      );
      continue;
    }
    seen.add(customId);
    if (method !== 'POST') {
      fail('invalid_method', `Line ${lineNo}: method must be "POST".`, lineNo, 'method');
      continue;
    }
    if (url !== endpoint) {
      fail('mismatched_url', `Line ${lineNo}: url must be the batch's endpoint ${endpoint}.`, lineNo, 'url');
      continue;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      fail('invalid_request', `Line ${lineNo}: body must be a JSON object.`, lineNo, 'body');
      continue;
    }
    if ((body as Record<string, unknown>).stream === true) {
      fail('invalid_request', `Line ${lineNo}: stream is not supported in a batch.`, lineNo, 'body.stream');
      continue;
    }
    lines.push({ index: lines.length, customId, body: body as Record<string, unknown> });
  }
  if (errors.length === 0 && lines.length === 0) fail('empty_file', 'The input file has no requests.', null);
  if (lines.length > maxRequests)
    fail(
      'too_many_requests',
      `The input file has ${lines.length} requests; the limit is ${maxRequests}.`,
      null,
    );
  return { lines, errors };
}
