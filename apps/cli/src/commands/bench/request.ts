/** One timed load-test request (streamed or not) against an OpenAI-compatible server. */
import { errorMessage, send, ServerTarget, sseData } from '../chat-stream';
import { Endpoint } from './options';
import { WorkItem } from './workload';

export interface RequestRecord {
  index: number;
  /** Milliseconds since the run started when the request was sent. */
  startMs: number;
  /** HTTP status; 0 = no HTTP answer (refused, reset, aborted at the time bound). */
  status: number;
  ok: boolean;
  error?: string;
  /** Server-side id (the usage event's request id). */
  id?: string;
  /** Streaming only: send -> first content chunk. */
  ttftMs: number | null;
  e2eMs: number;
  /** Streaming only: gaps between successive content chunks. */
  itlMs: number[];
  promptTokens: number;
  outputTokens: number;
}

export interface RequestSettings {
  target: ServerTarget;
  model: string;
  endpoint: Endpoint;
  stream: boolean;
  ignoreEos: boolean;
  serviceTier?: string;
}

function body(s: RequestSettings, item: WorkItem): Record<string, unknown> {
  if (s.endpoint === 'embeddings')
    return { model: s.model, input: item.prompt, ...(s.serviceTier ? { service_tier: s.serviceTier } : {}) };
  const b: Record<string, unknown> = {
    model: s.model,
    max_tokens: item.maxTokens,
    temperature: 0,
    stream: s.stream,
  };
  if (s.ignoreEos) b.ignore_eos = true;
  if (s.stream) b.stream_options = { include_usage: true };
  if (s.serviceTier) b.service_tier = s.serviceTier;
  if (s.endpoint === 'chat') b.messages = item.messages;
  else b.prompt = item.prompt;
  return b;
}

type Usage = { prompt_tokens?: number; completion_tokens?: number };
type Chunk = {
  id?: string;
  usage?: Usage | null;
  error?: { message?: string };
  choices?: { text?: string; delta?: { content?: string | null } }[];
};

export async function timedRequest(
  s: RequestSettings,
  item: WorkItem,
  index: number,
  runStart: number,
  signal: AbortSignal,
): Promise<RequestRecord> {
  const path = { chat: '/v1/chat/completions', completions: '/v1/completions', embeddings: '/v1/embeddings' }[
    s.endpoint
  ];
  const t0 = performance.now();
  const rec: RequestRecord = {
    index,
    startMs: t0 - runStart,
    status: 0,
    ok: false,
    ttftMs: null,
    e2eMs: 0,
    itlMs: [],
    promptTokens: 0,
    outputTokens: 0,
  };
  const finish = () => {
    rec.e2eMs = performance.now() - t0;
    return rec;
  };
  try {
    const res = await send(s.target, 'POST', path, body(s, item), signal);
    rec.status = res.status;
    if (!res.ok || !res.body) {
      rec.error = errorMessage(res.status, await res.text());
      return finish();
    }
    if (!s.stream) {
      const json = (await res.json()) as Chunk;
      rec.id = json.id;
      rec.promptTokens = json.usage?.prompt_tokens ?? 0;
      rec.outputTokens = json.usage?.completion_tokens ?? 0;
      rec.ok = true;
      return finish();
    }
    let last = 0;
    let chunks = 0;
    for await (const data of sseData(res.body)) {
      const now = performance.now();
      const chunk = JSON.parse(data) as Chunk;
      if (chunk.error) {
        rec.error = `stream error: ${chunk.error.message ?? data}`;
        return finish();
      }
      rec.id ??= chunk.id;
      const c = chunk.choices?.[0];
      const text = c?.delta?.content ?? c?.text ?? '';
      if (text) {
        if (rec.ttftMs === null) rec.ttftMs = now - t0;
        else rec.itlMs.push(now - last);
        last = now;
        chunks++;
      }
      if (chunk.usage) {
        rec.promptTokens = chunk.usage.prompt_tokens ?? 0;
        rec.outputTokens = chunk.usage.completion_tokens ?? 0;
      }
    }
    if (rec.outputTokens === 0) rec.outputTokens = chunks;
    rec.ok = true;
    return finish();
  } catch (err) {
    rec.error = signal.aborted
      ? 'aborted: the run reached --max-seconds'
      : err instanceof Error
        ? err.message
        : String(err);
    rec.ok = false;
    return finish();
  }
}
