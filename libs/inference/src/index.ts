export * from './inference.module';
export * from './models/model-registry';
export * from './models/model-deployment';
export * from './models/models-file';
export * from './lanes/lane-scheduler';
export * from './lanes/lane-rejection';
export * from './generation/inference.service';
export * from './generation/answers';
