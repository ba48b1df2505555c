import { ApiError } from '@app/common';
import { EngineProvider } from '@app/engine';
import { LaneScheduler } from '../lanes/lane-scheduler';
import { ModelFiles } from '../text/model-files';
import { ModelText } from '../text/model-text';

/**
 * One served model: its engine, its lane scheduler (sized to that engine) and its tokenizer and
 * chat template. The gateway holds one per model id (MODEL_PATH's, and MODELS_FILE's).
 */
export class ModelDeployment {
  constructor(
    readonly id: string,
    private readonly engineRef: EngineProvider | undefined,
    readonly lanes: LaneScheduler,
    private readonly loadText: () => { files: ModelFiles; text: ModelText },
    /** MAX_MODEL_LENGTH (or the entry's max_model_length): caps the engine's own limit. */
    private readonly maxModelLength: number | undefined,
  ) {}

  /** Whether the engine is loaded and can take a request now (a remote one: a healthy upstream). */
  get serving(): boolean {
    return this.engineRef?.ready === true && this.engineRef.canAccept?.() !== false;
  }

  /** The engine, or 503 engine_unavailable when it is not serving. */
  get engine(): EngineProvider {
    if (!this.serving)
      throw ApiError.unavailable('The inference engine is not available.', 'engine_unavailable');
    return this.engineRef!;
  }

  /** The engine as configured, serving or not (health checks, metrics, shutdown). */
  get engineProvider(): EngineProvider | undefined {
    return this.engineRef;
  }

  get files(): ModelFiles {
    return this.loadText().files;
  }

  get text(): ModelText {
    return this.loadText().text;
  }

  /** Sequences running and queued per engine slot (alias assign 'least_busy'). */
  load(): number {
    const { inFlight, capacity, queued } = this.lanes.stats();
    return (inFlight + Object.values(queued).reduce((a, b) => a + b, 0)) / capacity;
  }

  /** Prompt + output tokens this model takes: the engine's limit, capped by the configured one. */
  maxModelLen(): number {
    return this.capped(this.engine.info().maxModelLen);
  }

  /** The same for listings: undefined while the engine is not loaded, never an error. */
  listedMaxModelLen(): number | undefined {
    return this.engineRef?.ready ? this.capped(this.engineRef.info().maxModelLen) : undefined;
  }

  private capped(own: number): number {
    return this.maxModelLength ? Math.min(this.maxModelLength, own) : own;
  }
}
