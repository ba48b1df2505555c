export * from './batches.module';
export * from './batches/batch-runner';
export * from './batches/batch-store';
export * from './files/files-retention.service';
