import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { AuthModule } from '@app/auth';
import { APP_CONFIG } from '@app/common';
import { InferenceModule } from '@app/inference';
import { ResponsesModule } from '@app/responses';
import { TenantsModule } from '@app/tenants';
import { BATCH_SETTINGS, BatchSettings, batchSettingsFrom } from './batch-settings';
import { BatchLineRunner } from './batches/batch-line-runner';
import { BatchRunner } from './batches/batch-runner';
import { BatchStore } from './batches/batch-store';
import { BatchesAdminController } from './batches/batches-admin.controller';
import { BatchesController } from './batches/batches.controller';
import { BatchesService } from './batches/batches.service';
import { FilesController } from './files/files.controller';
import { FilesRetentionService } from './files/files-retention.service';
import { FilesService } from './files/files.service';
import { installMultipart } from './files/multipart-upload';

/** OpenAI's Files and Batch APIs, and the runner that works through batches in the batch lane. */
@Module({
  imports: [AuthModule, TenantsModule, InferenceModule, ResponsesModule],
  controllers: [FilesController, BatchesController, BatchesAdminController],
  providers: [
    { provide: BATCH_SETTINGS, useFactory: batchSettingsFrom, inject: [APP_CONFIG] },
    FilesService,
    FilesRetentionService,
    BatchesService,
    BatchStore,
    BatchLineRunner,
    BatchRunner,
  ],
  exports: [BatchRunner, FilesRetentionService],
})
export class BatchesModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(BATCH_SETTINGS) private readonly settings: BatchSettings,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (fastify && typeof fastify.register === 'function')
      installMultipart(fastify, this.settings.filesMaxBytes);
  }
}
