/**
 * `chat`: an interactive, streaming conversation with the server (/v1/chat/completions).
 * Lines starting with / are commands: /reset, /system TEXT, /exit. Ctrl-C stops a reply in
 * progress; at the prompt (or Ctrl-D) it leaves.
 */
import { createInterface } from 'node:readline';
import { ParsedArgs, stringFlag, UsageError } from '../args';
import { errorMessage, firstModel, send, sseData, targetFromArgs } from './chat-stream';

export const CHAT_HELP = `usage: llm-inference chat --api-key KEY [--url URL] [--model M] [--system TEXT]
    [--max-tokens 256] [--temperature 0.7]
  in the chat: /reset (forget the conversation), /system TEXT, /exit (or Ctrl-D)`;

type Message = { role: 'system' | 'user' | 'assistant'; content: string };

function numberFlag(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const raw = stringFlag(args, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be in [${min}, ${max}] (got ${raw})`);
  return n;
}

export async function chatCommand(args: ParsedArgs): Promise<string> {
  const target = targetFromArgs(args);
  const maxTokens = numberFlag(args, 'max-tokens', 256, 1, 1_000_000);
  const temperature = numberFlag(args, 'temperature', 0.7, 0, 2);
  const model = stringFlag(args, 'model') ?? (await firstModel(target));
  let system = stringFlag(args, 'system');
  let history: Message[] = [];
  const out = process.stdout;
  const rl = createInterface({ input: process.stdin, output: out, terminal: process.stdin.isTTY === true });
  let current: AbortController | null = null;
  let closed = false;
  rl.on('SIGINT', () => {
    if (current) current.abort();
    else rl.close();
  });
  rl.on('close', () => {
    closed = true;
    current?.abort();
  });
  out.write(`Chatting with ${model} at ${target.baseUrl}. /reset, /system TEXT, /exit; Ctrl-D leaves.\n`);

  const reply = async (): Promise<void> => {
    const messages: Message[] = [
      ...(system ? [{ role: 'system' as const, content: system }] : []),
      ...history,
    ];
    current = new AbortController();
    let text = '';
    try {
      const res = await send(
        target,
        'POST',
        '/v1/chat/completions',
        { model, messages, stream: true, max_tokens: maxTokens, temperature },
        current.signal,
      );
      if (!res.ok || !res.body) {
        out.write(`[error] ${errorMessage(res.status, await res.text())}\n`);
        history.pop();
        return;
      }
      out.write('assistant> ');
      for await (const data of sseData(res.body)) {
        const chunk = JSON.parse(data) as {
          error?: { message?: string };
          choices?: { delta?: { content?: string | null } }[];
        };
        if (chunk.error) {
          out.write(`\n[error] ${chunk.error.message ?? data}`);
          break;
        }
        const piece = chunk.choices?.[0]?.delta?.content ?? '';
        text += piece;
        out.write(piece);
      }
      out.write('\n');
    } catch (err) {
      if (current.signal.aborted) out.write('\n[stopped]\n');
      else {
        out.write(`\n[error] ${err instanceof Error ? err.message : String(err)}\n`);
        history.pop();
        return;
      }
    } finally {
      current = null;
    }
    history.push({ role: 'assistant', content: text });
  };

  const ask = () =>
    new Promise<string | null>((resolve) => {
      if (closed) return resolve(null);
      const onClose = () => resolve(null);
      rl.once('close', onClose);
      rl.question('you> ', (answer) => {
        rl.off('close', onClose);
        resolve(answer);
      });
    });

  for (;;) {
    const line = await ask();
    if (line === null) break;
    const input = line.trim();
    if (!input) continue;
    if (input === '/exit' || input === '/quit') break;
    if (input === '/reset') {
      history = [];
      out.write('[conversation cleared]\n');
      continue;
    }
    if (input.startsWith('/system')) {
      system = input.slice('/system'.length).trim() || undefined;
      out.write(system ? '[system prompt set]\n' : '[system prompt cleared]\n');
      continue;
    }
    if (input.startsWith('/')) {
      out.write(`[unknown command ${input.split(' ')[0]}; try /reset, /system TEXT, /exit]\n`);
      continue;
    }
    history.push({ role: 'user', content: input });
    await reply();
  }
  rl.close();
  return 'bye';
}
