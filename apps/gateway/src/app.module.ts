import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from '@app/admin';
import { BatchesModule } from '@app/batches';
import { AppConfig, CommonModule, ConfigModule } from '@app/common';
import { DatabaseModule } from '@app/database';
import { ENGINE_PROVIDER, loadAddon } from '@app/engine';
import { InferenceModule } from '@app/inference';
import { ResponsesModule } from '@app/responses';
import { gpuStatsFromAddon, MetricsModule } from '@app/observability';
import { ShutdownState } from './boot/shutdown-state';
import { HealthController } from './health/health.controller';

export interface AppModuleOptions {
  config: AppConfig;
  databaseUrl: string;
  /** Extra modules (e.g. the engine) composed into the gateway. */
  imports?: DynamicModule['imports'];
}

/** The gateway: composes the libraries into one HTTP application. */
@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(options.config),
        CommonModule,
        DatabaseModule.forRoot({ url: options.databaseUrl, poolSize: options.config.databasePoolSize }),
        AdminModule,
        InferenceModule,
        BatchesModule,
        ResponsesModule,
        MetricsModule.forRoot({
          engineToken: ENGINE_PROVIDER,
          gpuStats: gpuStatsFromAddon(() => loadAddon()),
        }),
        ...(options.imports ?? []),
      ],
      controllers: [HealthController],
      providers: [ShutdownState],
      exports: [ShutdownState],
    };
  }
}
