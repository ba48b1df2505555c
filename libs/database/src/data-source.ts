import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
}

/** TypeORM options shared by the app and the CLI. Schema only through migrations. */
export function dataSourceOptions(options: DatabaseOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    logging: false,
    extra: { max: options.poolSize ?? 10, connectionTimeoutMillis: 10_000 },
  };
}

/** A standalone DataSource (CLI, tests) with the given entities. */
export function createDataSource(
  options: DatabaseOptions,
  entities: DataSourceOptions['entities'] = [],
): DataSource {
  return new DataSource({ ...dataSourceOptions(options), entities } as DataSourceOptions);
}
