import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { jsonFileChecks, Quantization, QUANTIZATIONS } from '@app/common';

/** One more model this gateway serves beside MODEL_PATH's (MODELS_FILE `models[i]`). */
export interface DeploymentSpec {
  id: string;
  /** Hugging Face model directory: weights for a native engine, tokenizer and template for both. */
  path: string;
  /** Remote upstreams (OpenAI-compatible); unset: a native in-process engine on `path`. */
  upstreams?: string[];
  /** One key, or one per upstream. */
  apiKey?: string | string[];
  maxNumSeqs?: number;
  maxModelLength?: number;
  threads?: number;
  quantization?: Quantization;
  gpuMemoryUtilization?: number;
  speculativeNgramTokens?: number;
}

/**
 * How an alias picks among its targets: per request (weighted random), per API key (sticky), per
 * end user (sticky on the request's `user`, else on the API key), or the least busy one (sequences
 * running and queued per engine slot, divided by the weight).
 */
export type AliasAssignment = 'request' | 'key' | 'user' | 'least_busy';

export interface AliasSpec {
  /** Deployment id → weight (a positive integer). */
  targets: Record<string, number>;
  assign: AliasAssignment;
}

export interface ModelsFileSpec {
  models: DeploymentSpec[];
  aliases: Record<string, AliasSpec>;
  /** Deployment id → deployments tried in order when it is overloaded or down. */
  fallbacks: Record<string, string[]>;
  /** Deployment id → deployments tried in order when a request exceeds its context length. */
  contextFallbacks: Record<string, string[]>;
  /** How long a request waits in a model's lane before trying its fallbacks (unset: LANE_MAX_WAIT_MS). */
  fallbackWaitMs?: number;
}

/** A MODELS_FILE problem, with the JSON path of the offending value. */
export class ModelsFileError extends Error {}

function fail(where: string, why: string): never {
  throw new ModelsFileError(`MODELS_FILE: ${where}: ${why}`);
}

const { object, onlyKeys } = jsonFileChecks(fail);

function text(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.trim() === '') fail(where, 'must be a non-empty string');
  return v;
}

function int(v: unknown, where: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(where, `must be an integer between ${min} and ${max}`);
  return v;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

function modelId(v: unknown, where: string): string {
  const id = text(v, where);
  if (!ID.test(id)) fail(where, 'must be 1-128 of A-Z a-z 0-9 . _ : / - (starting with a letter or digit)');
  return id;
}

const DEPLOYMENT_KEYS = [
  'id',
  'path',
  'upstreams',
  'api_key',
  'api_key_env',
  'max_num_seqs',
  'max_model_length',
  'threads',
  'quantization',
  'gpu_memory_utilization',
  'speculative_ngram_tokens',
] as const;

const NATIVE_ONLY_KEYS = ['threads', 'quantization', 'gpu_memory_utilization', 'speculative_ngram_tokens'];

function deployment(v: unknown, where: string, baseDir: string, env: NodeJS.ProcessEnv): DeploymentSpec {
  const o = object(v, where);
  onlyKeys(o, DEPLOYMENT_KEYS, where);
  const spec: DeploymentSpec = {
    id: modelId(o.id, `${where}.id`),
    path: resolve(baseDir, text(o.path, `${where}.path`)),
  };
  if (o.upstreams !== undefined) {
    if (!Array.isArray(o.upstreams) || o.upstreams.length === 0)
      fail(`${where}.upstreams`, 'must be a non-empty array of http(s) URLs');
    spec.upstreams = o.upstreams.map((u, i) => {
      const url = text(u, `${where}.upstreams[${i}]`);
      if (!/^https?:\/\/\S+$/.test(url)) fail(`${where}.upstreams[${i}]`, 'must be an http(s) URL');
      return url;
    });
  }
  if (o.api_key !== undefined || o.api_key_env !== undefined) {
    const field = o.api_key !== undefined ? 'api_key' : 'api_key_env';
    if (!spec.upstreams) fail(`${where}.${field}`, `only remote models (upstreams) take an ${field}`);
    if (o.api_key !== undefined && o.api_key_env !== undefined)
      fail(`${where}.api_key_env`, 'give api_key or api_key_env, not both');
  }
  if (o.api_key !== undefined) {
    spec.apiKey = Array.isArray(o.api_key)
      ? o.api_key.map((k, i) => text(k, `${where}.api_key[${i}]`))
      : text(o.api_key, `${where}.api_key`);
  }
  if (o.api_key_env !== undefined) {
    // The key stays out of the file: one key, or comma-separated keys (one per upstream).
    const name = text(o.api_key_env, `${where}.api_key_env`);
    const value = env[name];
    if (!value) fail(`${where}.api_key_env`, `the environment variable ${name} is not set`);
    const keys = value.split(',').map((k) => k.trim());
    spec.apiKey = keys.length > 1 ? keys : keys[0];
  }
  spec.maxNumSeqs = int(o.max_num_seqs, `${where}.max_num_seqs`, 1, 4096);
  spec.maxModelLength = int(o.max_model_length, `${where}.max_model_length`, 16, 1_048_576);
  spec.threads = int(o.threads, `${where}.threads`, 1, 1024);
  spec.speculativeNgramTokens = int(o.speculative_ngram_tokens, `${where}.speculative_ngram_tokens`, 0, 64);
  if (o.quantization !== undefined) {
    if (!QUANTIZATIONS.includes(o.quantization as Quantization))
      fail(`${where}.quantization`, `must be one of ${QUANTIZATIONS.map((q) => `'${q}'`).join(', ')}`);
    spec.quantization = o.quantization as Quantization;
  }
  if (o.gpu_memory_utilization !== undefined) {
    const g = o.gpu_memory_utilization;
    if (typeof g !== 'number' || !(g >= 0.05 && g <= 1))
      fail(`${where}.gpu_memory_utilization`, 'must be a number between 0.05 and 1');
    spec.gpuMemoryUtilization = g;
  }
  if (spec.upstreams) {
    const nativeOnly = NATIVE_ONLY_KEYS.find((k) => o[k] !== undefined);
    if (nativeOnly) fail(`${where}.${nativeOnly}`, 'applies to native models only (this one has upstreams)');
  }
  return spec;
}

function alias(v: unknown, where: string): AliasSpec {
  const o = object(v, where);
  onlyKeys(o, ['targets', 'assign'], where);
  const targets = object(o.targets, `${where}.targets`);
  if (Object.keys(targets).length === 0) fail(`${where}.targets`, 'must name at least one model');
  for (const [id, w] of Object.entries(targets)) int(w ?? null, `${where}.targets.${id}`, 1, 1_000_000);
  const assign = o.assign ?? 'request';
  if (assign !== 'request' && assign !== 'key' && assign !== 'user' && assign !== 'least_busy')
    fail(`${where}.assign`, "must be 'request', 'key', 'user' or 'least_busy'");
  return { targets: targets as Record<string, number>, assign };
}

/** `fallbacks` / `context_fallbacks`: model id → a non-empty list of model ids. */
function fallbackLists(v: unknown, where: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, list] of Object.entries(v === undefined ? {} : object(v, where))) {
    if (!Array.isArray(list) || list.length === 0)
      fail(`${where}.${id}`, 'must be a non-empty array of model ids');
    out[id] = list.map((m, i) => text(m, `${where}.${id}[${i}]`));
  }
  return out;
}

/**
 * Parses and checks a MODELS_FILE (docs/api.md, "Several models"). Relative paths are taken from
 * the file's own directory. Ids, alias targets and fallbacks are checked against each other by
 * ModelRouter, which also knows the primary model's id.
 */
export function parseModelsFile(
  source: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): ModelsFileSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (err) {
    fail('(file)', `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const o = object(raw, '(top level)');
  onlyKeys(o, ['models', 'aliases', 'fallbacks', 'context_fallbacks', 'fallback_wait_ms'], '(top level)');
  if (o.models !== undefined && !Array.isArray(o.models)) fail('models', 'must be an array');
  const models = ((o.models as unknown[] | undefined) ?? []).map((m, i) =>
    deployment(m, `models[${i}]`, baseDir, env),
  );
  const aliases: Record<string, AliasSpec> = {};
  for (const [name, a] of Object.entries(o.aliases === undefined ? {} : object(o.aliases, 'aliases')))
    aliases[modelId(name, `aliases.${name}`)] = alias(a, `aliases.${name}`);
  const fallbacks = fallbackLists(o.fallbacks, 'fallbacks');
  const contextFallbacks = fallbackLists(o.context_fallbacks, 'context_fallbacks');
  const fallbackWaitMs = int(o.fallback_wait_ms, 'fallback_wait_ms', 1, 3_600_000);
  return { models, aliases, fallbacks, contextFallbacks, ...(fallbackWaitMs ? { fallbackWaitMs } : {}) };
}

/** Reads MODELS_FILE; a missing or unreadable file is a startup error naming the path. */
export function readModelsFile(path: string): ModelsFileSpec {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelsFileError(
      `MODELS_FILE: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return parseModelsFile(source, dirname(resolve(path)));
}
