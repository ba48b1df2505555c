/**
 * `batch --input prompts.jsonl --output results.jsonl`: OpenAI batch-style lines
 * ({"custom_id", "method", "url", "body"}) sent with --concurrency, one output line each
 * ({"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}), appended as
 * they finish. Resumable: custom_ids already in the output are skipped. Retryable failures
 * (no answer, 429, 5xx) are not written, so a rerun retries them; other 4xx are written.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { ParsedArgs, stringFlag, UsageError } from '../args';
import { isObject, readJsonl } from './batch-jsonl';
import { ProgressBar } from './bench/progress';
import { errorMessage, firstModel, send, ServerTarget, targetFromArgs } from './chat-stream';

export const BATCH_HELP = `usage: llm-inference batch --input prompts.jsonl --output results.jsonl --api-key KEY
    [--url URL] [--concurrency 4] [--model M] [--no-progress]`;

const URLS = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings']);

interface BatchLine {
  customId: string;
  url: string;
  body: Record<string, unknown>;
}

function readInput(path: string): BatchLine[] {
  const seen = new Set<string>();
  return readJsonl(path, '--input').map(({ line, value }) => {
    const where = `--input: ${path}:${line}`;
    if (!isObject(value)) throw new Error(`${where}: expected a JSON object`);
    const customId = value.custom_id;
    if (typeof customId !== 'string' || customId.length === 0)
      throw new Error(`${where}: "custom_id" (string) is required`);
    if (seen.has(customId)) throw new Error(`${where}: duplicate custom_id ${JSON.stringify(customId)}`);
    seen.add(customId);
    const method = value.method ?? 'POST';
    if (method !== 'POST') throw new Error(`${where}: "method" must be POST`);
    const url = value.url ?? '/v1/chat/completions';
    if (typeof url !== 'string' || !URLS.has(url))
      throw new Error(`${where}: "url" must be one of ${[...URLS].join(', ')}`);
    if (!isObject(value.body)) throw new Error(`${where}: "body" (object) is required`);
    return { customId, url, body: value.body };
  });
}

/** custom_ids already in the output; a torn last line (interrupted write) is cut off. */
function doneIds(path: string): Set<string> {
  const done = new Set<string>();
  if (!existsSync(path)) return done;
  const text = readFileSync(path, 'utf8');
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < Buffer.byteLength(text)) truncateSync(path, Buffer.byteLength(text.slice(0, complete)));
  text
    .slice(0, complete)
    .split('\n')
    .forEach((raw, i) => {
      if (!raw.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        throw new Error(`--output: ${path}:${i + 1}: not valid JSON (not a results file of this command?)`);
      }
      if (!isObject(v) || typeof v.custom_id !== 'string') {
        throw new Error(`--output: ${path}:${i + 1}: no custom_id (not a results file of this command?)`);
      }
      done.add(v.custom_id);
    });
  return done;
}

type Outcome = { write: string | null; ok: boolean; retryable: boolean; error?: string };

async function runLine(target: ServerTarget, line: BatchLine, model: string): Promise<Outcome> {
  // Generation is asked for whole (not streamed); embeddings have no `stream`.
  const body = {
    ...line.body,
    model: line.body.model ?? model,
    ...(line.url === '/v1/embeddings' ? {} : { stream: false }),
  };
  const id = `batch_req_${randomBytes(12).toString('hex')}`;
  let res: Response;
  try {
    res = await send(target, 'POST', line.url, body);
  } catch (err) {
    return {
      write: null,
      ok: false,
      retryable: true,
      error: err instanceof Error ? err.message : String(err),
    };
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  const requestId = res.headers.get('x-request-id');
  const response = { status_code: res.status, request_id: requestId, body: parsed };
  if (res.ok)
    return {
      write: JSON.stringify({ id, custom_id: line.customId, response, error: null }),
      ok: true,
      retryable: false,
    };
  const message = errorMessage(res.status, text);
  if (res.status === 429 || res.status >= 500)
    return { write: null, ok: false, retryable: true, error: message };
  const error = {
    code: (parsed as { error?: { code?: string } })?.error?.code ?? String(res.status),
    message,
  };
  return {
    write: JSON.stringify({ id, custom_id: line.customId, response, error }),
    ok: false,
    retryable: false,
    error: message,
  };
}

export async function batchCommand(args: ParsedArgs): Promise<unknown> {
  const input = stringFlag(args, 'input', true)!;
  const output = stringFlag(args, 'output', true)!;
  const rawConc = stringFlag(args, 'concurrency') ?? '4';
  const concurrency = Number(rawConc);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
    throw new UsageError(`--concurrency must be an integer in [1, 1024] (got ${rawConc})`);
  }
  const target = targetFromArgs(args);
  const lines = readInput(input);
  const done = doneIds(output);
  const todo = lines.filter((l) => !done.has(l.customId));
  const model = stringFlag(args, 'model') ?? (todo.length ? await firstModel(target) : '');
  const bar = new ProgressBar(todo.length, 'batch', args.flags['no-progress'] !== true);
  let next = 0;
  let finished = 0;
  const counts = { completed: 0, failed_written: 0, failed_retryable: 0 };
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
      while (next < todo.length) {
        const line = todo[next++];
        const r = await runLine(target, line, model);
        if (r.write !== null) appendFileSync(output, r.write + '\n');
        if (r.ok) counts.completed++;
        else if (r.retryable) counts.failed_retryable++;
        else counts.failed_written++;
        if (r.error && errors.length < 5) errors.push(`${line.customId}: ${r.error}`);
        bar.update(
          ++finished,
          counts.failed_retryable + counts.failed_written
            ? `(${counts.failed_retryable + counts.failed_written} failed)`
            : '',
        );
      }
    }),
  );
  bar.finish();
  const summary = {
    input: lines.length,
    skipped: lines.length - todo.length,
    processed: todo.length,
    ...counts,
    output,
  };
  if (counts.failed_retryable > 0) {
    throw new Error(
      `${counts.failed_retryable} of ${todo.length} lines failed and were not written (rerun to retry them): ${errors.join('; ')}\n${JSON.stringify(summary)}`,
    );
  }
  return summary;
}
