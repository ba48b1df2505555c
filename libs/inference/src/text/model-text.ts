import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { byteLevelBytes } from './byte-level';
import { ModelFiles } from './model-files';
import { PromptCache } from './prompt-cache';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'developer' | 'tool';
  content: string;
  name?: string;
  /** An assistant turn's calls, arguments as objects (the form Llama templates render). */
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: unknown } }[];
  /** A tool turn: the call it answers. */
  tool_call_id?: string;
}

/** A tool as chat templates receive it (OpenAI's `tools[i]`). */
export interface TemplateTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

function tokenString(config: Record<string, unknown>, key: string): string {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return '';
}

/**
 * The model's own text handling: tokenizer.json (@huggingface/tokenizers) and the
 * chat_template of tokenizer_config.json (@huggingface/jinja).
 */
export class ModelText {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template | null;
  private readonly bosToken: string;
  private readonly eosToken: string;
  private readonly specialIds: Set<number>;
  /** Prompt ids by chat messages / prompt text; off when the template reads the clock. */
  readonly promptCache: PromptCache;
  readonly vocabSize: number;

  constructor(files: ModelFiles, cache: { maxEntries?: number; maxKeyLength?: number } = {}) {
    this.tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    const source = files.tokenizerConfig.chat_template;
    const text = Array.isArray(source)
      ? (source as { name?: string; template?: string }[]).find((t) => t.name === 'default')?.template
      : source;
    this.template = typeof text === 'string' ? new Template(text) : null;
    // A template that calls strftime_now() renders differently over time: never cache its output.
    const timeDependent = typeof text === 'string' && text.includes('strftime_now');
    this.promptCache = new PromptCache(timeDependent ? 0 : cache.maxEntries, cache.maxKeyLength);
    this.bosToken = tokenString(files.tokenizerConfig, 'bos_token');
    this.eosToken = tokenString(files.tokenizerConfig, 'eos_token');
    this.specialIds = new Set(this.tokenizer.get_added_tokens_decoder().keys());
    this.vocabSize = this.tokenizer.get_vocab(true).size;
  }

  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /**
   * Renders the chat template; the result already holds BOS when the template adds it. `tools`
   * reach templates that describe them to the model (Llama 3.1+); others ignore them.
   */
  renderChat(messages: ChatMessage[], addGenerationPrompt = true, tools?: TemplateTool[]): string {
    if (!this.template) throw new Error('the model has no chat_template');
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken,
      eos_token: this.eosToken,
      ...(tools ? { tools } : {}),
    });
  }

  /** The chat template's prompt as token ids (renderChat + encode), cached per messages and tools. */
  chatTokens(messages: ChatMessage[], addGenerationPrompt = true, tools?: TemplateTool[]): number[] {
    const key =
      (addGenerationPrompt ? 'c1' : 'c0') + JSON.stringify(messages) + (tools ? JSON.stringify(tools) : '');
    return this.promptCache.get(key, () =>
      this.encode(this.renderChat(messages, addGenerationPrompt, tools), false),
    );
  }

  /** encode(text, addSpecialTokens), cached per text. */
  promptTokens(text: string, addSpecialTokens: boolean): number[] {
    return this.promptCache.get((addSpecialTokens ? 't1' : 't0') + text, () =>
      this.encode(text, addSpecialTokens),
    );
  }

  /** Token ids of a text; addSpecialTokens adds BOS the way the tokenizer's post-processor does. */
  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids as number[], {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: false,
    });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** The token's text as OpenAI's logprobs show it, and its raw bytes. */
  tokenInfo(id: number): { token: string; bytes: number[] } {
    const piece = this.tokenizer.id_to_token(id);
    if (piece === undefined) return { token: '', bytes: [] };
    if (this.specialIds.has(id)) return { token: piece, bytes: [...Buffer.from(piece, 'utf8')] };
    const bytes = byteLevelBytes(piece);
    if (!bytes) {
      const text = this.decode([id], false);
      return { token: text, bytes: [...Buffer.from(text, 'utf8')] };
    }
    return { token: Buffer.from(bytes).toString('utf8'), bytes };
  }
}
