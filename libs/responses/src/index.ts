export * from './responses.module';
export * from './responses.service';
export * from './responses.store';
