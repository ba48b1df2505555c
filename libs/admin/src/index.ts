export * from './admin.module';
export * from './serializers';
export * from './dto/clean-name';
