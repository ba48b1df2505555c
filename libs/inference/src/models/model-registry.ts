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
import { unobserveLanes } from '../lanes/lane-metrics';
import { laneSchedulerFor } from '../lanes/lane-scheduler.provider';
import { LaneScheduler } from '../lanes/lane-scheduler';
import { readModelFiles } from '../text/model-files';
import { ModelText } from '../text/model-text';
import { ModelTextProvider } from '../text/model-text.provider';
import { drainDeployment } from './drain-deployment';
import { describeChanges, modelChanges } from './model-changes';
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

/** What a reload did: the routing table now in force and the models it changed. */
export type ModelsReload = ReturnType<ModelRouter['describe']> & {
  models: ReturnType<typeof describeChanges>;
};

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
  if (file) assertPathsExist(file.models, file);
}

/** ModelsFileError naming the first of `specs` (entries of `file`) whose path does not exist. */
function assertPathsExist(specs: DeploymentSpec[], file: ModelsFileSpec): void {
  for (const m of specs)
    if (!existsSync(m.path))
      throw new ModelsFileError(
        `MODELS_FILE: models[${file.models.indexOf(m)}].path: ${m.path} does not exist`,
      );
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
  /** Each further model's spec as loaded (JSON): a reload compares against them. */
  private readonly loadedSpecs = new Map<string, string>();
  /** Engines this registry started (MODELS_FILE's); the primary one belongs to EngineModule. */
  private readonly ownEngines: { id: string; engine: EngineProvider }[] = [];
  /** The reload in progress (reloads run one after another). */
  private reloading: Promise<unknown> = Promise.resolve();

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
        const d = this.deploymentFor(spec, this.engineFor(spec, false));
        this.adopt(spec, d);
        this.deployments.set(spec.id, d);
        this.loadedSpecs.set(spec.id, JSON.stringify(spec));
      } catch (err) {
        void this.closeOwnEngines();
        const why = err instanceof Error ? err.message : String(err);
        throw new ModelsFileError(`MODELS_FILE: models[${i}] ('${spec.id}'): ${why}`, { cause: err });
      }
    });
  }

  /** The engine for a MODELS_FILE entry; `async`: a native one loads off the JS thread (reloads). */
  private engineFor(spec: DeploymentSpec, async: true): Promise<EngineProvider>;
  private engineFor(spec: DeploymentSpec, async: false): EngineProvider;
  private engineFor(spec: DeploymentSpec, async: boolean): EngineProvider | Promise<EngineProvider> {
    if (spec.upstreams)
      return remoteEngineFor({
        urls: spec.upstreams,
        apiKey: spec.apiKey,
        modelPath: spec.path,
        maxModelLength: spec.maxModelLength,
      });
    const options = {
      modelPath: spec.path,
      maxNumSeqs: spec.maxNumSeqs ?? this.config.maxNumSeqs,
      maxModelLen: spec.maxModelLength,
      kvCacheFraction: spec.gpuMemoryUtilization ?? this.config.gpuMemoryUtilization,
      ...(spec.threads ? { threads: spec.threads } : {}),
      ...(spec.quantization && spec.quantization !== 'none' ? { quantization: spec.quantization } : {}),
      speculativeTokens: spec.speculativeNgramTokens ?? 0,
    };
    return async ? NativeEngineProvider.load(options) : new NativeEngineProvider(options);
  }

  /** A deployment around a started engine (closes the engine if the model's tokenizer is unreadable). */
  private deploymentFor(spec: DeploymentSpec, engine: EngineProvider): ModelDeployment {
    let text: { files: ReturnType<typeof readModelFiles>; text: ModelText };
    try {
      // Read now: a model whose tokenizer cannot be read is a load error, not a 500 later.
      const files = readModelFiles(spec.path);
      text = { files, text: new ModelText(files) };
    } catch (err) {
      void engine.close();
      throw err;
    }
    const capacity = spec.maxNumSeqs ?? this.config.maxNumSeqs;
    return new ModelDeployment(
      spec.id,
      engine,
      laneSchedulerFor(this.config, capacity, !spec.upstreams, this.metrics),
      () => text,
      spec.maxModelLength,
    );
  }

  /** Observes a deployment's engine (metrics) and lists it as this registry's to close. */
  private adopt(spec: DeploymentSpec, d: ModelDeployment): void {
    const engine = d.engineProvider!;
    this.ownEngines.push({ id: spec.id, engine });
    this.collector?.observeEngine(engine, spec.id, spec.upstreams ? 'remote' : 'native');
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
   * Re-reads MODELS_FILE and applies it without a restart: models added are loaded (native ones off
   * the JS thread), changed ones are loaded anew beside the old engine, then the routing table
   * switches at once; removed and replaced engines finish what they admitted (up to
   * SHUTDOWN_TIMEOUT_MS) and close. Any error (invalid file, a model that fails to load) leaves
   * everything as it was: ModelsFileError. Reloads run one at a time.
   */
  reload(): Promise<ModelsReload> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.then(
      () => this.metrics?.modelsReloaded('applied'),
      () => this.metrics?.modelsReloaded('refused'),
    );
    return run;
  }

  private async reloadNow(): Promise<ModelsReload> {
    const file = modelsFileOf(this.config);
    const router = routerFor(this.config, file);
    const changes = modelChanges(this.loadedSpecs, file?.models ?? []);
    const toLoad = [...changes.added, ...changes.replaced];
    if (file) assertPathsExist(toLoad, file);
    const loaded: ModelDeployment[] = [];
    for (const spec of toLoad) {
      try {
        loaded.push(this.deploymentFor(spec, await this.engineFor(spec, true)));
      } catch (err) {
        for (const d of loaded) unobserveLanes(d.lanes, this.metrics);
        await Promise.all(loaded.map((d) => d.engineProvider!.close()));
        const why = err instanceof Error ? err.message : String(err);
        throw new ModelsFileError(`MODELS_FILE: model '${spec.id}' did not load: ${why}`, { cause: err });
      }
    }
    // Switch: from here on new requests route to the new table.
    const retired: ModelDeployment[] = changes.removed.map((id) => this.deployments.get(id)!);
    for (const id of changes.removed) {
      this.deployments.delete(id);
      this.loadedSpecs.delete(id);
      this.readiness?.unregister(`engine:${id}`);
    }
    toLoad.forEach((spec, i) => {
      const old = this.deployments.get(spec.id);
      if (old) retired.push(old);
      this.deployments.set(spec.id, loaded[i]);
      this.loadedSpecs.set(spec.id, JSON.stringify(spec));
      this.adopt(spec, loaded[i]);
      this.readiness?.register(engineReadiness(`engine:${spec.id}`, loaded[i].engineProvider!));
    });
    this.router = router;
    for (const d of retired)
      this.retire(d).catch((err: unknown) =>
        this.logger.error(`model '${d.id}': closing its old engine failed: ${(err as Error).message}`),
      );
    const summary = describeChanges(changes);
    if (toLoad.length > 0 || retired.length > 0)
      this.logger.log(
        `models reloaded: added [${summary.added.join(', ')}], replaced [${summary.replaced.join(', ')}], removed [${summary.removed.join(', ')}]`,
      );
    return { ...router.describe(), models: summary };
  }

  /** Lets a deployment out of service finish its requests, then closes its engine. */
  private async retire(d: ModelDeployment): Promise<void> {
    const engine = d.engineProvider!;
    const drained = await drainDeployment(d, this.config.shutdownTimeoutMs);
    if (!drained)
      this.logger.warn(`model '${d.id}': requests still running after SHUTDOWN_TIMEOUT_MS are aborted`);
    this.collector?.unobserveEngine(engine, this.deployments.has(d.id));
    unobserveLanes(d.lanes, this.metrics);
    const i = this.ownEngines.findIndex((e) => e.engine === engine);
    if (i >= 0) this.ownEngines.splice(i, 1);
    await engine.close();
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
        embeddings: info?.embeddings === true,
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
