import 'reflect-metadata';
import { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'pino';
import {
  AppConfig,
  createLogger,
  createValidationPipe,
  InFlightTracker,
  installHttpHooks,
  OpenAIExceptionFilter,
  PinoNestLogger,
  requestIdFor,
} from '@app/common';
import { AppModule } from '../app.module';

export interface CreateAppOptions {
  config: AppConfig;
  databaseUrl: string;
  logger?: Logger;
  imports?: DynamicModule['imports'];
}

export interface GatewayApp {
  app: NestFastifyApplication;
  logger: Logger;
  tracker: InFlightTracker;
}

/**
 * Builds the gateway application (not listening yet): Fastify with a body limit and
 * x-request-id, global validation, OpenAI-shaped errors everywhere, JSON logs, /docs.
 * Used by main.ts and by the e2e tests (test/helpers).
 */
export async function createGatewayApp(options: CreateAppOptions): Promise<GatewayApp> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestIdFor,
    logger: false,
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ config, databaseUrl: options.databaseUrl, imports: options.imports }),
    adapter,
    { logger: new PinoNestLogger(logger.child({ component: 'nest' })), abortOnError: false },
  );
  const tracker = new InFlightTracker();
  installHttpHooks(app.getHttpAdapter().getInstance(), logger, tracker);
  app.useGlobalFilters(new OpenAIExceptionFilter());
  app.useGlobalPipes(createValidationPipe());
  if (config.docsEnabled) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('llm-inference')
        .setDescription('Multi-tenant, OpenAI-compatible LLM inference gateway')
        .setVersion('0.1.0')
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup('docs', app, document);
  }
  await app.init();
  return { app, logger, tracker };
}
