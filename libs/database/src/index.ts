export * from './database.module';
export * from './data-source';
export * from './migrate';
export * from './resolve-database';
export * from './embedded/embedded-postgres';
export * from './embedded/free-port';
export * from './sql-helpers';
