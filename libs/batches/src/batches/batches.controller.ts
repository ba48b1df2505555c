import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { readListQuery } from '@app/common';
import { VerifiedKey } from '@app/tenants';
import { BatchesService } from './batches.service';

/** OpenAI's Batch API: a file of requests run in the batch lane, answered in an output file. */
@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/batches')
@UseGuards(ApiKeyGuard)
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @HttpCode(200)
  create(@CurrentKey() key: VerifiedKey, @Body() body: unknown) {
    return this.batches.create({ tenantId: key.tenantId, apiKeyId: key.keyId, body });
  }

  @Get()
  list(@CurrentKey() key: VerifiedKey, @Query() query: Record<string, unknown>) {
    return this.batches.list(key.tenantId, readListQuery(query, 100));
  }

  @Get(':batchId')
  get(@CurrentKey() key: VerifiedKey, @Param('batchId') batchId: string) {
    return this.batches.get(key.tenantId, batchId);
  }

  @Post(':batchId/cancel')
  @HttpCode(200)
  cancel(@CurrentKey() key: VerifiedKey, @Param('batchId') batchId: string) {
    return this.batches.cancel(key.tenantId, batchId);
  }
}
