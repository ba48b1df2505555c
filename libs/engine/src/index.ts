export * from './engine.types';
export * from './engine-provider';
export * from './event-queue';
export * from './native-addon';
export * from './native-engine.provider';
export * from './engine.module';
export * from './remote';
