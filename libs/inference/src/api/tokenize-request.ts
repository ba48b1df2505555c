import { ChatMessage } from '../text/model-text';
import { parseChatRequest } from './chat-request';
import { checkNumber, checkString, invalid, objectBody, ParamReader, typeName } from './param-reader';

export type TokenizeRequest = { model?: string } & (
  { prompt: string; addSpecialTokens: boolean } | { messages: ChatMessage[]; addGenerationPrompt: boolean }
);

export function parseTokenizeRequest(body: unknown): TokenizeRequest {
  const b = objectBody(body);
  const r = new ParamReader(b);
  r.onlyKnown(new Set(['model', 'prompt', 'messages', 'add_special_tokens', 'add_generation_prompt']));
  const model = r.string('model', { maxLength: 256 });
  if (r.has('messages')) {
    if (r.has('prompt')) throw invalid('prompt', "Give either 'prompt' or 'messages', not both.");
    const chat = parseChatRequest({ model: model ?? '-', messages: b.messages }, Number.MAX_SAFE_INTEGER);
    return { model, messages: chat.messages, addGenerationPrompt: r.bool('add_generation_prompt') ?? true };
  }
  if (!r.has('prompt'))
    throw invalid(
      'prompt',
      "Missing required parameter: 'prompt' (or 'messages').",
      'missing_required_parameter',
    );
  return {
    model,
    prompt: checkString('prompt', b.prompt),
    addSpecialTokens: r.bool('add_special_tokens') ?? true,
  };
}

export function parseDetokenizeRequest(
  body: unknown,
  vocabSize: number,
): { model?: string; tokens: number[] } {
  const b = objectBody(body);
  const r = new ParamReader(b);
  r.onlyKnown(new Set(['model', 'tokens']));
  const model = r.string('model', { maxLength: 256 });
  if (!r.has('tokens'))
    throw invalid('tokens', "Missing required parameter: 'tokens'.", 'missing_required_parameter');
  const v = b.tokens;
  if (!Array.isArray(v))
    throw invalid('tokens', `'tokens' must be an array of token ids, got ${typeName(v)}.`, 'invalid_type');
  if (v.length > 1_000_000) throw invalid('tokens', "'tokens' is too long.");
  return { model, tokens: v.map((t) => checkNumber('tokens', t, { int: true, min: 0, max: vocabSize - 1 })) };
}
