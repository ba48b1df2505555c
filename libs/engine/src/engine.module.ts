import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig, Quantization, ReadinessContributor, ReadinessRegistry } from '@app/common';
import { ENGINE_PROVIDER, EngineProvider } from './engine-provider';
import { EngineInfo, NativeEngineOptions } from './engine.types';
import { NativeEngineProvider } from './native-engine.provider';
import { remoteEngineFromConfig } from './remote';

/** Registers the engine with GET /ready and closes it on shutdown. */
@Injectable()
export class EngineLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(ENGINE_PROVIDER) private readonly engine: EngineProvider,
    @Optional() private readonly readiness?: ReadinessRegistry,
  ) {}

  onModuleInit(): void {
    this.readiness?.register(engineReadiness('engine', this.engine));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }
}

/** An engine's GET /ready check under `name`: up (with its engineDetail line) while it is loaded. */
export function engineReadiness(name: string, engine: EngineProvider): ReadinessContributor {
  return {
    name,
    check: async () =>
      engine.ready
        ? { ok: true, status: 'up', detail: engineDetail(engine.info()) }
        : { ok: false, status: 'closed' },
  };
}

/** The health check's line: "cpu: /models/x", or "cpu (int8): /models/x" when quantized. */
function engineDetail(info: EngineInfo): string {
  const quant = info.quantization && info.quantization !== 'none' ? ` (${info.quantization})` : '';
  return `${info.backend}${quant}: ${info.path}`;
}

/** Maps the validated AppConfig to native engine options (MODEL_PATH must be resolved by then). */
export function engineOptionsFromConfig(config: AppConfig): NativeEngineOptions {
  if (!config.modelPath) throw new Error('MODEL_PATH is not set: the engine needs a model directory');
  return {
    modelPath: config.modelPath,
    maxNumSeqs: config.maxNumSeqs,
    maxModelLen: config.maxModelLength,
    kvCacheFraction: config.gpuMemoryUtilization,
    ...(config.raw.QUANTIZATION && config.raw.QUANTIZATION !== 'none'
      ? { quantization: config.raw.QUANTIZATION as Quantization }
      : {}),
    speculativeTokens: Number(config.raw.SPECULATIVE_NGRAM_TOKENS ?? 0),
  };
}

/** Provides ENGINE_PROVIDER: the native in-process engine. */
@Global()
@Module({})
export class EngineModule {
  static forRoot(options: NativeEngineOptions): DynamicModule {
    return {
      module: EngineModule,
      providers: [
        { provide: ENGINE_PROVIDER, useFactory: () => new NativeEngineProvider(options) },
        EngineLifecycle,
      ],
      exports: [ENGINE_PROVIDER],
    };
  }

  /** Reads MODEL_PATH, MAX_NUM_SEQS, MAX_MODEL_LENGTH, GPU_MEMORY_UTILIZATION, QUANTIZATION, SPECULATIVE_NGRAM_TOKENS from APP_CONFIG. */
  static fromConfig(): DynamicModule {
    return {
      module: EngineModule,
      providers: [
        {
          provide: ENGINE_PROVIDER,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig): EngineProvider =>
            config.raw.ENGINE_PROVIDER === 'remote'
              ? remoteEngineFromConfig(config)
              : new NativeEngineProvider(engineOptionsFromConfig(config)),
        },
        EngineLifecycle,
      ],
      exports: [ENGINE_PROVIDER],
    };
  }
}
