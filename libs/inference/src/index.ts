export * from './inference.module';
export * from './models/model-registry';
export * from './models/model-deployment';
export * from './models/models-file';
export * from './lanes/lane-scheduler';
export * from './lanes/lane-rejection';
export * from './generation/inference.service';
export * from './generation/answers';
export { chatLogprobs, usageOf } from './generation/openai-shapes';
export type { PreparedRequest } from './generation/prepared-request';
export {
  checkString,
  invalid,
  isPlainObject,
  objectBody,
  onlyFields,
  ParamReader,
  readMetadata,
  typeName,
} from './api/param-reader';
export { SseWriter, onClientGone } from './http/sse';
export { streamChatParts, type ChatStreamPart } from './http/tool-stream';
