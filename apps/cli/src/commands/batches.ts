/**
 * `batches submit|status|list|cancel|download`: OpenAI's Batch API on the server (/v1/files +
 * /v1/batches): the server runs the lines in its batch lane with no client connected, and keeps
 * the answers in an output file. (`batch` instead sends the lines through the endpoints itself.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ParsedArgs, intFlag, stringFlag, UsageError } from '../args';
import { ProgressBar } from './bench/progress';
import { errorMessage, requestJson, send, ServerError, ServerTarget, targetFromArgs } from './chat-stream';

export const BATCHES_HELP = `usage: llm-inference batches <command> --api-key KEY [--url URL]
  submit --input requests.jsonl [--endpoint /v1/chat/completions] [--metadata k=v,...]
         [--wait [--output results.jsonl] [--errors errors.jsonl] [--poll-ms 1000] [--no-progress]]
      Upload the file, create a batch (endpoint: the first line's url by default); with --wait,
      follow it to the end and write its output (and error) file.
  status BATCH_ID | list [--limit 20] | cancel BATCH_ID
  download BATCH_ID --output results.jsonl [--errors errors.jsonl]`;

interface Batch {
  id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  errors: { data?: { code: string; message: string; line: number | null }[] } | null;
}

const ENDED = new Set(['completed', 'failed', 'cancelled', 'expired']);

export async function batchesCommand(args: ParsedArgs): Promise<unknown> {
  const [, sub, id] = args.positional;
  const target = targetFromArgs(args);
  if (sub === 'submit') return submit(args, target);
  if (sub === 'list')
    return requestJson(target, 'GET', `/v1/batches?limit=${intFlag(args, 'limit', 20, 1, 100)}`);
  if (!sub || !['status', 'cancel', 'download'].includes(sub))
    throw new UsageError(`unknown batches command: ${sub ?? '(none)'}\n\n${BATCHES_HELP}`);
  if (!id) throw new UsageError(`batches ${sub} needs a BATCH_ID`);
  const path = `/v1/batches/${encodeURIComponent(id)}`;
  if (sub === 'status') return requestJson(target, 'GET', path);
  if (sub === 'cancel') return requestJson(target, 'POST', `${path}/cancel`, {});
  const output = stringFlag(args, 'output', true)!;
  return download(target, await requestJson<Batch>(target, 'GET', path), output, stringFlag(args, 'errors'));
}

async function submit(args: ParsedArgs, target: ServerTarget): Promise<unknown> {
  const input = stringFlag(args, 'input', true)!;
  if (!existsSync(input)) throw new Error(`--input: no such file: ${input}`);
  const content = readFileSync(input);
  const endpoint = stringFlag(args, 'endpoint') ?? firstUrl(content) ?? '/v1/chat/completions';
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([content]), basename(input));
  const file = await requestJson<{ id: string }>(target, 'POST', '/v1/files', form);
  const batch = await requestJson<Batch>(target, 'POST', '/v1/batches', {
    input_file_id: file.id,
    endpoint,
    completion_window: '24h',
    ...(stringFlag(args, 'metadata') ? { metadata: metadata(stringFlag(args, 'metadata')!) } : {}),
  });
  if (!args.flags.wait) return batch;
  const ended = await follow(
    target,
    batch.id,
    intFlag(args, 'poll-ms', 1000, 50, 60_000),
    !args.flags['no-progress'],
  );
  const output = stringFlag(args, 'output');
  const result = output ? await download(target, ended, output, stringFlag(args, 'errors')) : ended;
  if (ended.status !== 'completed') {
    const why =
      ended.errors?.data?.map((e) => `line ${e.line ?? '-'}: ${e.code}: ${e.message}`).join('\n') ?? '';
    throw new Error(`batch ${ended.id} ${ended.status}${why ? `:\n${why}` : ''}`);
  }
  return result;
}

/** Polls the batch until it ends, drawing request_counts as a progress bar on a terminal. */
async function follow(target: ServerTarget, id: string, pollMs: number, progress: boolean): Promise<Batch> {
  let bar: ProgressBar | null = null;
  for (;;) {
    const b = await requestJson<Batch>(target, 'GET', `/v1/batches/${encodeURIComponent(id)}`);
    const { total, completed, failed } = b.request_counts;
    if (!bar && total > 0) bar = new ProgressBar(total, id, progress);
    bar?.update(completed + failed, `${b.status} failed ${failed}`);
    if (ENDED.has(b.status)) {
      bar?.finish();
      return b;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Writes the batch's output file (and error file) to disk; answers what was written. */
async function download(target: ServerTarget, b: Batch, output: string, errors: string | undefined) {
  const save = async (fileId: string | null, path: string) => {
    let text = '';
    if (fileId) {
      const res = await send(target, 'GET', `/v1/files/${encodeURIComponent(fileId)}/content`);
      text = await res.text();
      if (!res.ok)
        throw new ServerError(
          res.status,
          `GET /v1/files/${fileId}/content: ${errorMessage(res.status, text)}`,
        );
    }
    writeFileSync(path, text);
    return text.split('\n').filter((l) => l.trim() !== '').length;
  };
  return {
    batch: b,
    output: { path: output, lines: await save(b.output_file_id, output) },
    ...(errors ? { errors: { path: errors, lines: await save(b.error_file_id, errors) } } : {}),
  };
}

/** The url of the file's first request line, if it has one. */
function firstUrl(content: Buffer): string | undefined {
  const line = content
    .toString('utf8')
    .split('\n')
    .find((l) => l.trim() !== '');
  try {
    const url = (JSON.parse(line ?? '') as { url?: unknown }).url;
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined; // the server's validation names the bad line
  }
}

function metadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata wants key=value pairs separated by commas (got ${pair})`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
