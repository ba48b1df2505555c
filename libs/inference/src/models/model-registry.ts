import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { ApiError, APP_CONFIG, AppConfig, ReadinessRegistry } from '@app/common';
import {
  ENGINE_PROVIDER,
  EngineProvider,
  engineReadiness,
  NativeEngineProvider,
  remoteEngineFor,
} from '@app/engine';
import { Metrics, MetricsCollector } from '@app/observability';
import { laneSchedulerFor } from '../lanes/lane-scheduler.provider';
import { LaneScheduler } from '../lanes/lane-scheduler';
import { readModelFiles } from '../text/model-files';
import { ModelText } from '../text/model-text';
import { ModelTextProvider } from '../text/model-text.provider';
import { ModelDeployment } from './model-deployment';
import { ModelRouter, StickyCaller } from './model-router';
import { DeploymentSpec, ModelsFileError, ModelsFileSpec, readModelsFile } from './models-file';

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** vLLM's field: prompt + output tokens the model takes (served models whose engine is up). */
  max_model_len?: number;
}

/** The primary model's id: MODEL_NAME, else the basename of MODEL_PATH. */
export function primaryModelId(config: AppConfig): string {
  if (config.modelName) return config.modelName;
  if (config.modelPath) return basename(resolve(config.modelPath));
  return 'tiny-llama';
}

function modelsFileOf(config: AppConfig): ModelsFileSpec | null {
  return typeof config.raw.MODELS_FILE === 'string' ? readModelsFile(config.raw.MODELS_FILE) : null;
}

function routerFor(config: AppConfig, file: ModelsFileSpec | null): ModelRouter {
  return new ModelRouter([primaryModelId(config), ...(file?.models.map((m) => m.id) ?? [])], {
    aliases: file?.aliases,
    fallbacks: file?.fallbacks,
    contextFallbacks: file?.contextFallbacks,
    fallbackWaitMs: file?.fallbackWaitMs,
  });
}

/** Where one request goes: a served model, and those to try when it refuses the request. */
export interface ModelRoute {
  model: ModelDeployment;
  /** When it is overloaded or down (503 before any output). */
  fallbacks: ModelDeployment[];
  /** When the request exceeds its context length (400 context_length_exceeded). */
  contextFallbacks: ModelDeployment[];
  /** The longest wait in a lane before the next fallback is tried (fallback_wait_ms). */
  fallbackWaitMs?: number;
}

/**
 * Reads and cross-checks MODELS_FILE (fields, ids, aliases, fallbacks, that each path exists)
 * without loading an engine: the server calls it at startup, before the database. Throws
 * ModelsFileError.
 */
export function checkModelsFile(config: AppConfig): void {
  const file = modelsFileOf(config);
  routerFor(config, file);
  file?.models.forEach((m, i) => {
    if (!existsSync(m.path))
      throw new ModelsFileError(`MODELS_FILE: models[${i}].path: ${m.path} does not exist`);
  });
}

/**
 * Every model this gateway serves: the primary one (MODEL_PATH, ENGINE_PROVIDER, MAX_NUM_SEQS,
 * ...), and those of MODELS_FILE, each with an engine, lane scheduler and tokenizer of its own;
 * plus the aliases and fallbacks that route a request's `model` to them (docs/api.md).
 */
@Injectable()
export class ModelRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Models');
  private readonly created = Math.floor(Date.now() / 1000);
  readonly primary: ModelDeployment;
  private readonly deployments = new Map<string, ModelDeployment>();
  private router: ModelRouter;
  /** Each further model's spec as loaded (JSON): a reload may not change them. */
  private readonly loadedSpecs = new Map<string, string>();
  /** Engines this registry started (MODELS_FILE's); the primary one belongs to EngineModule. */
  private readonly ownEngines: { id: string; engine: EngineProvider }[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    texts: ModelTextProvider,
    lanes: LaneScheduler,
    @Optional() @Inject(ENGINE_PROVIDER) engine?: EngineProvider,
    @Optional() private readonly metrics?: Metrics,
    @Optional() private readonly collector?: MetricsCollector,
    @Optional() private readonly readiness?: ReadinessRegistry,
  ) {
    this.primary = new ModelDeployment(
      primaryModelId(config),
      engine,
      lanes,
      () => texts.get(),
      config.maxModelLength,
    );
    this.deployments.set(this.primary.id, this.primary);
    const file = modelsFileOf(config);
    // Ids, aliases and fallbacks are checked before any further engine loads.
    this.router = routerFor(config, file);
    file?.models.forEach((spec, i) => {
      try {
        this.deployments.set(spec.id, this.deploy(spec));
        this.loadedSpecs.set(spec.id, JSON.stringify(spec));
      } catch (err) {
        void this.closeOwnEngines();
        const why = err instanceof Error ? err.message : String(err);
        throw new ModelsFileError(`MODELS_FILE: models[${i}] ('${spec.id}'): ${why}`, { cause: err });
      }
    });
  }

  private deploy(spec: DeploymentSpec): ModelDeployment {
    const engine: EngineProvider = spec.upstreams
      ? remoteEngineFor({
          urls: spec.upstreams,
          apiKey: spec.apiKey,
          modelPath: spec.path,
          maxModelLength: spec.maxModelLength,
        })
      : new NativeEngineProvider({
          modelPath: spec.path,
          maxNumSeqs: spec.maxNumSeqs ?? this.config.maxNumSeqs,
          maxModelLen: spec.maxModelLength,
          kvCacheFraction: spec.gpuMemoryUtilization ?? this.config.gpuMemoryUtilization,
          ...(spec.threads ? { threads: spec.threads } : {}),
          ...(spec.quantization && spec.quantization !== 'none' ? { quantization: spec.quantization } : {}),
          speculativeTokens: spec.speculativeNgramTokens ?? 0,
        });
    this.ownEngines.push({ id: spec.id, engine });
    this.collector?.observeEngine(engine, spec.id, spec.upstreams ? 'remote' : 'native');
    // Read now: a model whose tokenizer cannot be read is a startup error, not a 500 later.
    const files = readModelFiles(spec.path);
    const text = { files, text: new ModelText(files) };
    const capacity = spec.maxNumSeqs ?? this.config.maxNumSeqs;
    return new ModelDeployment(
      spec.id,
      engine,
      laneSchedulerFor(this.config, capacity, this.metrics),
      () => text,
      spec.maxModelLength,
    );
  }

  onModuleInit(): void {
    for (const { id, engine } of this.ownEngines)
      this.readiness?.register(engineReadiness(`engine:${id}`, engine));
    if (this.ownEngines.length > 0 || this.router.aliasNames.length > 0)
      this.logger.log(
        `serving ${[...this.deployments.keys()].join(', ')}` +
          (this.router.aliasNames.length ? `; aliases ${this.router.aliasNames.join(', ')}` : ''),
      );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closeOwnEngines();
  }

  private async closeOwnEngines(): Promise<void> {
    await Promise.all(this.ownEngines.map(({ engine }) => engine.close()));
  }

  /**
   * Re-reads MODELS_FILE and applies its aliases and fallbacks at once (e.g. an A/B test's weights);
   * requests already routed keep their model. Models load at startup only: a file whose `models`
   * differ from the loaded ones is refused (ModelsFileError) and nothing changes.
   */
  reloadRoutes(): ReturnType<ModelRouter['describe']> {
    const file = modelsFileOf(this.config);
    const specs = new Map((file?.models ?? []).map((m) => [m.id, JSON.stringify(m)]));
    const changed = [...new Set([...specs.keys(), ...this.loadedSpecs.keys()])].filter(
      (id) => specs.get(id) !== this.loadedSpecs.get(id),
    );
    if (changed.length > 0)
      throw new ModelsFileError(
        `MODELS_FILE: models added, removed or changed (${changed.join(', ')}): models load at startup only; restart the gateway for them (aliases and fallbacks reload)`,
      );
    this.router = routerFor(this.config, file);
    return this.router.describe();
  }

  /** Every served model with its engine's state, and the routing table (GET /admin/models). */
  describe() {
    const models = [...this.deployments.values()].map((d) => {
      const engine = d.engineProvider;
      const info = engine?.info();
      const stats = engine?.ready ? engine.stats() : null;
      return {
        id: d.id,
        primary: d === this.primary,
        ready: d.serving,
        backend: info?.backend ?? null,
        quantization: info?.quantization ?? null,
        path: info?.path ?? null,
        max_model_len: d.listedMaxModelLen() ?? null,
        max_num_seqs: d.lanes.capacity,
        running: stats?.running ?? null,
        waiting: stats?.waiting ?? null,
      };
    });
    return { models, ...this.router.describe() };
  }

  /** A served model by id; an alias is a 400 (its models may tokenize differently), else 404. */
  get(id: string): ModelDeployment {
    const d = this.deployments.get(id);
    if (d) return d;
    const targets = this.router.aliasTargets(id);
    if (targets)
      throw ApiError.badRequest(
        `'${id}' is an alias of ${targets.join(', ')}; name one of those models here.`,
        'model',
        'model_is_alias',
      );
    throw modelNotFound(id);
  }

  /**
   * Where a request for `model` goes (an alias picks a model, per request, or sticky per API key
   * or end user), with that model's fallbacks; 404 model_not_found when unknown.
   */
  route(model: string, caller: StickyCaller): ModelRoute {
    const r = this.router.route(model, caller, Math.random, (id) => this.deployments.get(id)!.load());
    if (!r) throw modelNotFound(model);
    const get = (id: string) => this.deployments.get(id)!;
    return {
      model: get(r.model),
      fallbacks: r.fallbacks.map(get),
      contextFallbacks: r.contextFallbacks.map(get),
      fallbackWaitMs: r.fallbackWaitMs,
    };
  }

  /** GET /v1/models: the served models, then the aliases. */
  list(): ModelCard[] {
    const card = (id: string, maxModelLen?: number): ModelCard => ({
      id,
      object: 'model',
      created: this.created,
      owned_by: 'llm-inference',
      ...(maxModelLen ? { max_model_len: maxModelLen } : {}),
    });
    return [
      ...[...this.deployments.values()].map((d) => card(d.id, d.listedMaxModelLen())),
      ...this.router.aliasNames.map((name) => card(name)),
    ];
  }
}

function modelNotFound(model: string): ApiError {
  return ApiError.notFound(`The model '${model}' does not exist.`, 'model_not_found', 'model');
}
