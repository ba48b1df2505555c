export * from './inference.module';
export * from './models/model-catalog';
export * from './lanes/lane-scheduler';
export * from './lanes/lane-rejection';
export * from './generation/inference.service';
