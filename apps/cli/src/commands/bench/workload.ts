/**
 * The requests of a load test: synthetic prompts of about --input-len tokens (calibrated with
 * the server's /tokenize when it has one) or the prompts of a JSONL dataset.
 */
import { isObject, readJsonl } from '../batch-jsonl';
import { ServerTarget, send } from '../chat-stream';
import { Endpoint } from './options';
import { prng } from './prng';

export type ChatMessage = { role: string; content: string };

export interface WorkItem {
  /** chat: messages; completions: prompt. */
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
}

const WORDS = (
  'the of and to in is was for on that with as by at from his her an which are this be or had not ' +
  'but have were one all their they more been has when who will would there can time its into only ' +
  'other new some could these two may first then do any like my now over such our man me even most'
).split(' ');

function words(n: number, rand: () => number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]);
  return out.join(' ');
}

/** Tokens per word and fixed template tokens, from /tokenize; 1 and 0 when the server has none. */
async function calibrate(target: ServerTarget, model: string, endpoint: Endpoint) {
  const sample = words(200, prng(1));
  const count = async (text: string): Promise<number | null> => {
    const body =
      endpoint === 'chat'
        ? { model, messages: [{ role: 'user', content: text }] }
        : { model, prompt: text, add_special_tokens: true };
    const res = await send(target, 'POST', '/tokenize', body).catch(() => null);
    if (!res || !res.ok) return null;
    const parsed = (await res.json().catch(() => null)) as { count?: number } | null;
    return typeof parsed?.count === 'number' ? parsed.count : null;
  };
  const [full, one] = [await count(sample), await count('the')];
  if (full === null || one === null) return { perWord: 1, fixed: 0, calibrated: false };
  const perWord = Math.max(0.05, (full - one) / 199);
  return { perWord, fixed: Math.max(0, one - perWord), calibrated: true };
}

export async function syntheticWorkload(
  target: ServerTarget,
  model: string,
  endpoint: Endpoint,
  count: number,
  inputLen: number,
  outputLen: number,
  seed: number,
): Promise<{ items: WorkItem[]; calibrated: boolean }> {
  const { perWord, fixed, calibrated } = await calibrate(target, model, endpoint);
  const n = Math.max(1, Math.round((inputLen - fixed) / perWord));
  const rand = prng(seed + 1);
  const items: WorkItem[] = [];
  for (let i = 0; i < count; i++) {
    const text = words(n, rand);
    items.push(
      endpoint === 'chat'
        ? { messages: [{ role: 'user', content: text }], maxTokens: outputLen }
        : { prompt: text, maxTokens: outputLen },
    );
  }
  return { items, calibrated };
}

/**
 * Dataset lines: {"prompt": "..."} or {"messages": [...]} or OpenAI batch lines
 * {"custom_id", "body": {...}}; optional max_tokens (default 128). Cycled to fill `count`.
 */
export function datasetWorkload(path: string, endpoint: Endpoint, count: number): WorkItem[] {
  const rows = readJsonl(path, '--dataset');
  if (rows.length === 0) throw new Error(`--dataset: ${path} has no lines`);
  const base = rows.map(({ line, value }) => {
    const v = isObject(value) && isObject(value.body) ? value.body : value;
    if (!isObject(v)) throw new Error(`--dataset: ${path}:${line}: expected a JSON object`);
    const maxTokens = v.max_tokens ?? v.output_len ?? 128;
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new Error(`--dataset: ${path}:${line}: max_tokens must be a positive integer`);
    }
    let messages: ChatMessage[] | undefined;
    let prompt: string | undefined;
    if (Array.isArray(v.messages)) messages = v.messages as ChatMessage[];
    else if (typeof v.prompt === 'string') prompt = v.prompt;
    else throw new Error(`--dataset: ${path}:${line}: needs "prompt" (string) or "messages" (array)`);
    if (endpoint === 'chat' && !messages) messages = [{ role: 'user', content: prompt! }];
    if (endpoint !== 'chat' && !prompt) {
      prompt = messages!.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
    }
    return endpoint === 'chat' ? { messages, maxTokens } : { prompt, maxTokens };
  });
  return Array.from({ length: count }, (_, i) => base[i % base.length]);
}
