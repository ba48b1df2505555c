export * from './batches.module';
export * from './batches/batch-runner';
