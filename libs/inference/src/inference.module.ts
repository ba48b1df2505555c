import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { AuthModule } from '@app/auth';
import { QuotasModule } from '@app/quotas';
import { accountingProvider } from './generation/accounting.provider';
import { InferenceService } from './generation/inference.service';
import { ChatController } from './http/chat.controller';
import { CompletionsController } from './http/completions.controller';
import { EmbeddingsController } from './http/embeddings.controller';
import { installStrictJsonParser } from './http/strict-json';
import { TokenizeController } from './http/tokenize.controller';
import { laneSchedulerProvider } from './lanes/lane-scheduler.provider';
import { ModelRegistry } from './models/model-registry';
import { ModelsController } from './models/models.controller';
import { ModelTextProvider } from './text/model-text.provider';

/** OpenAI-compatible endpoints for tenants' clients (API key required). */
@Module({
  imports: [AuthModule, QuotasModule],
  controllers: [
    ModelsController,
    ChatController,
    CompletionsController,
    EmbeddingsController,
    TokenizeController,
  ],
  providers: [ModelRegistry, ModelTextProvider, laneSchedulerProvider, accountingProvider, InferenceService],
  exports: [ModelRegistry, InferenceService],
})
export class InferenceModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (fastify && typeof fastify.addContentTypeParser === 'function') installStrictJsonParser(fastify);
  }
}
