import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The subset of generation_config.json that gives sampling defaults. */
export interface GenerationDefaults {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  max_new_tokens?: number;
}

export interface ModelFiles {
  dir: string;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  generation: GenerationDefaults;
  /** config.json max_position_embeddings (the model's own context length), when present. */
  maxPositionEmbeddings?: number;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

function pickNumber(src: Record<string, unknown>, key: string): number | undefined {
  const v = src[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Reads the Hugging Face model directory's tokenizer, template and generation defaults. */
export function readModelFiles(dir: string): ModelFiles {
  const tokenizerJson = readJson(join(dir, 'tokenizer.json'));
  const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'));
  const genPath = join(dir, 'generation_config.json');
  const gen = existsSync(genPath) ? readJson(genPath) : {};
  const generation: GenerationDefaults = {};
  for (const key of [
    'temperature',
    'top_p',
    'top_k',
    'min_p',
    'repetition_penalty',
    'max_new_tokens',
  ] as const) {
    const v = pickNumber(gen, key);
    if (v !== undefined) generation[key] = v;
  }
  // do_sample=false means greedy in transformers.
  if (gen.do_sample === false) generation.temperature = 0;
  const cfgPath = join(dir, 'config.json');
  const cfg = existsSync(cfgPath) ? readJson(cfgPath) : {};
  return {
    dir,
    tokenizerJson,
    tokenizerConfig,
    generation,
    maxPositionEmbeddings: pickNumber(cfg, 'max_position_embeddings'),
  };
}
