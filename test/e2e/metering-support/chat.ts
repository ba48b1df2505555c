import { MODEL, Http, http } from './cluster';

export interface ChatOptions {
  /** The user message (byte-level tokenizer: one token per byte, plus the template's tokens). */
  content?: string;
  maxTokens?: number;
  /** Generate exactly max_tokens (the tiny model's random weights may otherwise stop early). */
  exact?: boolean;
  serviceTier?: string;
  /** OpenAI's end-user id. */
  user?: string;
}

export function chatBody(o: ChatOptions = {}): Record<string, unknown> {
  return {
    model: MODEL,
    messages: [{ role: 'user', content: o.content ?? 'Hi' }],
    max_tokens: o.maxTokens ?? 4,
    ...(o.exact === false ? {} : { ignore_eos: true }),
    ...(o.serviceTier ? { service_tier: o.serviceTier } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
  };
}

/** POST /v1/chat/completions (not streamed) on the real gateway + engine. */
export function chat(baseUrl: string, key: string, o: ChatOptions = {}): Promise<Http> {
  return http(baseUrl, 'POST', '/v1/chat/completions', { auth: key, body: chatBody(o) });
}

/** The prompt's token count (chat template included), from the gateway's POST /tokenize. */
export async function promptTokens(baseUrl: string, key: string, content: string): Promise<number> {
  const r = await http(baseUrl, 'POST', '/tokenize', {
    auth: key,
    body: { model: MODEL, messages: [{ role: 'user', content }] },
  });
  if (r.status !== 200) throw new Error(`tokenize: ${r.status} ${r.text}`);
  return r.body.count ?? r.body.tokens.length;
}

export interface OpenStream {
  status: number;
  /** The completion id (first chunk). */
  id: string;
  /** Disconnects (the gateway aborts the engine request and settles its accounting). */
  abort(): void;
}

/** Starts a streamed chat completion and returns once its first chunk arrived (the request is running). */
export async function openStream(
  baseUrl: string,
  key: string,
  o: ChatOptions & { n?: number },
): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...chatBody(o), stream: true, ...(o.n ? { n: o.n } : {}) }),
    signal: controller.signal,
  });
  const abort = () => controller.abort();
  if (res.status !== 200 || !res.body) {
    await res.text().catch(() => undefined);
    return { status: res.status, id: '', abort };
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before its first chunk: ${text}`);
    text += decoder.decode(value, { stream: true });
    const m = /^data: (\{.*\})$/m.exec(text);
    if (m) {
      // Keep draining in the background so the connection stays healthy until abort().
      void (async () => {
        try {
          while (!(await reader.read()).done);
        } catch {
          /* aborted */
        }
      })();
      return { status: 200, id: (JSON.parse(m[1]) as { id: string }).id, abort };
    }
  }
}
