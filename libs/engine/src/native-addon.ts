import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EngineEvent, EngineInfo, EngineStats, NativeEngineOptions, StepSamples } from './engine.types';

/** The shape of native/build/Release/llm_engine.node (see the agreed addon API). */
export interface NativeEngine {
  add(request: object): void;
  abort(id: string): void;
  stats(): EngineStats;
  drainSteps(): StepSamples;
  info(): EngineInfo;
  close(): void;
  /** Builds an engine constructed with `deferLoad` on a worker thread (once). */
  load(): Promise<void>;
}

export interface NativeAddon {
  Engine: new (
    options: NativeEngineOptions,
    onEvents: (events: EngineEvent[]) => void,
    deferLoad?: boolean,
  ) => NativeEngine;
  computeLogits(args: {
    modelPath: string;
    tokens: number[];
    device?: string;
    threads?: number;
  }): Float32Array;
  cudaAvailable(): { available: boolean; reason: string };
  /** null, or why the schema is outside the engine's JSON Schema subset. */
  checkJsonSchema(schemaText: string): string | null;
}

const RELATIVE = join('native', 'build', 'Release', 'llm_engine.node');

/** Finds the addon: LLM_ENGINE_ADDON, else native/build/Release/ in a parent of this file or the cwd. */
export function findAddonPath(): string {
  const env = process.env.LLM_ENGINE_ADDON;
  if (env) return env;
  for (const start of [__dirname, process.cwd()]) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, RELATIVE);
      if (existsSync(candidate)) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`native engine not built: ${RELATIVE} not found (run \`npm run build:native\`)`);
}

let cached: NativeAddon | undefined;

export function loadAddon(path = findAddonPath()): NativeAddon {
  if (!cached) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(path) as NativeAddon;
  }
  return cached;
}
