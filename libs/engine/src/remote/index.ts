export * from './circuit-breaker';
export * from './upstream-pool';
export * from './remote-engine.provider';
export * from './remote-from-config';
