/**
 * The OpenAI-compatible client side shared by `chat`, `batch`, `models list` and `bench load`:
 * the target server (--url, --api-key), fetch with clear errors, and SSE `data:` parsing.
 */
import { ParsedArgs, stringFlag, UsageError } from '../args';
import { defaultServerUrl } from '../local-env';

export interface ServerTarget {
  baseUrl: string;
  apiKey: string | undefined;
}

/** --url (or LLM_INFERENCE_URL / PORT) and --api-key (or LLM_INFERENCE_API_KEY / OPENAI_API_KEY). */
export function targetFromArgs(args: ParsedArgs, requireKey = true): ServerTarget {
  const raw = stringFlag(args, 'url') ?? defaultServerUrl();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url: only http:// and https:// are supported (got ${url.protocol})`);
  }
  const apiKey =
    stringFlag(args, 'api-key') ?? process.env.LLM_INFERENCE_API_KEY ?? process.env.OPENAI_API_KEY;
  if (requireKey && !apiKey) {
    throw new UsageError('--api-key is required (or set LLM_INFERENCE_API_KEY)');
  }
  // A trailing /v1 is accepted (OpenAI clients' base URL) and stripped: paths below add it.
  const baseUrl = url.toString().replace(/\/+$/, '').replace(/\/v1$/, '');
  return { baseUrl, apiKey };
}

/** A non-2xx answer from the server, with the OpenAI error message when there is one. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server could not be reached at all (refused, DNS, reset before any answer). */
export class UnreachableError extends Error {}

function headers(target: ServerTarget, json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
  if (json) h['content-type'] = 'application/json';
  return h;
}

/** fetch() against the server; network failures become UnreachableError with the cause. */
export async function send(
  target: ServerTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  try {
    // A FormData body goes as multipart (fetch writes its boundary); anything else as JSON.
    const form = body instanceof FormData;
    return await fetch(target.baseUrl + path, {
      method,
      headers: headers(target, body !== undefined && !form),
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    throw new UnreachableError(`cannot reach ${target.baseUrl} (${why})`);
  }
}

/** The OpenAI error message of a failed response body, or the raw text. */
export function errorMessage(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } };
    if (parsed?.error?.message) return `HTTP ${status}: ${parsed.error.message}`;
  } catch {
    // not JSON
  }
  return `HTTP ${status}: ${text.slice(0, 300)}`;
}

/** GET/POST returning parsed JSON; non-2xx throws ServerError. */
export async function requestJson<T = unknown>(
  target: ServerTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await send(target, method, path, body);
  const text = await res.text();
  if (!res.ok) throw new ServerError(res.status, `${method} ${path}: ${errorMessage(res.status, text)}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ServerError(res.status, `${method} ${path}: the answer is not JSON: ${text.slice(0, 200)}`);
  }
}

/** The `data:` payloads of an SSE body, in order, without the terminating `[DONE]`. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      yield data;
    }
  }
}

/** The first model the server lists (GET /v1/models). */
export async function firstModel(target: ServerTarget): Promise<string> {
  const list = await requestJson<{ data?: { id: string }[] }>(target, 'GET', '/v1/models');
  const id = list.data?.[0]?.id;
  if (!id) throw new Error(`${target.baseUrl} serves no models`);
  return id;
}
