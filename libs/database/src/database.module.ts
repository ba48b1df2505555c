import { DynamicModule, Inject, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ReadinessRegistry } from '@app/common';
import { DatabaseOptions, dataSourceOptions } from './data-source';
import { runMigrations } from './migrate';

class DatabaseReadiness implements OnModuleInit {
  constructor(
    @Inject(ReadinessRegistry) private readonly readiness: ReadinessRegistry,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  onModuleInit() {
    this.readiness.register({
      name: 'database',
      check: async () => {
        await this.dataSource.query('SELECT 1');
        return { ok: true, status: 'up' };
      },
    });
  }
}

/**
 * TypeORM on Postgres. The DataSource is initialised and migrated (under an advisory lock)
 * before any module uses it. Libraries register entities with TypeOrmModule.forFeature().
 */
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions(options), autoLoadEntities: true }),
          dataSourceFactory: async (opts?: DataSourceOptions) => {
            const dataSource = new DataSource(opts!);
            await dataSource.initialize();
            try {
              await runMigrations(dataSource);
            } catch (err) {
              await dataSource.destroy();
              throw err;
            }
            return dataSource;
          },
        }),
      ],
      providers: [DatabaseReadiness],
    };
  }
}
