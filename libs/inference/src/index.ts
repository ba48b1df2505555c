export * from './inference.module';
export * from './models/model-catalog';
