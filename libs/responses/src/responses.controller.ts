import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { onClientGone, SseWriter } from '@app/inference';
import { RequestRateGuard } from '@app/quotas';
import { VerifiedKey } from '@app/tenants';
import { itemsPage } from './items-page';
import { ResponsesService } from './responses.service';

/** OpenAI's Responses API: create (streamed or not), retrieve, delete, list a response's input items. */
@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/responses')
@UseGuards(ApiKeyGuard)
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  @Post()
  @HttpCode(200)
  @UseGuards(RequestRateGuard)
  async create(
    @Body() body: unknown,
    @CurrentKey() key: VerifiedKey,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const run = await this.responses.prepare(body, { tenantId: key.tenantId, apiKeyId: key.keyId });
    onClientGone(reply, () => run.p.abort.abort());
    if (run.req.stream) return this.responses.stream(run, new SseWriter(reply, run.p.reservation.headers()));
    void reply.headers(run.p.reservation.headers()).send(await this.responses.respond(run));
  }

  @Get(':id')
  retrieve(@CurrentKey() key: VerifiedKey, @Param('id') id: string) {
    return this.responses.retrieve(key.tenantId, id);
  }

  @Delete(':id')
  delete(@CurrentKey() key: VerifiedKey, @Param('id') id: string) {
    return this.responses.delete(key.tenantId, id);
  }

  @Get(':id/input_items')
  async inputItems(
    @CurrentKey() key: VerifiedKey,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ) {
    return itemsPage(await this.responses.inputItems(key.tenantId, id), query);
  }
}
