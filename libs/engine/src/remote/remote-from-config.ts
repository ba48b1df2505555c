import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '@app/common';
import { RemoteEngineProvider } from './remote-engine.provider';

export interface RemoteEngineSettings {
  urls: string[];
  /** One key, or one per upstream. */
  apiKey?: string | string[];
  /** The model directory whose config.json gives the context length and vocabulary size. */
  modelPath?: string;
  maxModelLength?: number;
}

/** A remote engine for upstreams serving the model at `modelPath` (context length from its config.json). */
export function remoteEngineFor(s: RemoteEngineSettings): RemoteEngineProvider {
  let maxModelLen = s.maxModelLength;
  let vocabSize: number | undefined;
  let hiddenSize: number | undefined;
  const cfgPath = s.modelPath ? join(s.modelPath, 'config.json') : undefined;
  if (cfgPath && existsSync(cfgPath)) {
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as {
      max_position_embeddings?: number;
      vocab_size?: number;
      hidden_size?: number;
    };
    maxModelLen ??= cfg.max_position_embeddings;
    vocabSize = cfg.vocab_size;
    hiddenSize = cfg.hidden_size;
  }
  return new RemoteEngineProvider({
    urls: s.urls,
    apiKey: s.apiKey,
    maxModelLen: maxModelLen ?? 8192,
    vocabSize,
    hiddenSize,
  });
}

/** ENGINE_PROVIDER=remote: REMOTE_UPSTREAMS, REMOTE_API_KEY (one, or one per upstream), context length from MODEL_PATH's config.json. */
export function remoteEngineFromConfig(config: AppConfig): RemoteEngineProvider {
  const urls = String(config.raw.REMOTE_UPSTREAMS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error('ENGINE_PROVIDER=remote needs REMOTE_UPSTREAMS');
  const keys =
    typeof config.raw.REMOTE_API_KEY === 'string'
      ? config.raw.REMOTE_API_KEY.split(',').map((k) => k.trim())
      : [];
  return remoteEngineFor({
    urls,
    apiKey: keys.length > 1 ? keys : keys[0],
    modelPath: config.modelPath,
    maxModelLength: config.maxModelLength,
  });
}
