import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard, CurrentKey } from '@app/auth';
import { ApiError, readListQuery } from '@app/common';
import { TenantStorage, VerifiedKey } from '@app/tenants';
import { FilesService, UPLOAD_PURPOSES } from './files.service';
import { readUpload } from './multipart-upload';

/** OpenAI's Files API (the inputs and outputs of batches), per tenant. */
@ApiTags('openai')
@ApiBearerAuth()
@Controller('v1/files')
@UseGuards(ApiKeyGuard)
export class FilesController {
  constructor(
    private readonly files: FilesService,
    private readonly storage: TenantStorage,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['purpose', 'file'],
      properties: {
        purpose: { type: 'string', enum: ['batch'] },
        file: { type: 'string', format: 'binary' },
      },
    },
  })
  async upload(@CurrentKey() key: VerifiedKey, @Req() req: FastifyRequest) {
    const { fields, file } = await readUpload(req);
    const purpose = fields.purpose;
    if (!purpose)
      throw ApiError.badRequest("'purpose' is required.", 'purpose', 'missing_required_parameter');
    if (!(UPLOAD_PURPOSES as readonly string[]).includes(purpose))
      throw ApiError.badRequest(`purpose must be one of: ${UPLOAD_PURPOSES.join(', ')}.`, 'purpose');
    if (!file) throw ApiError.badRequest("'file' is required.", 'file', 'missing_required_parameter');
    if (file.content.length === 0) throw ApiError.badRequest('The file is empty.', 'file');
    await this.storage.assertRoom(key.tenantId, file.content.length, 'file');
    const created = await this.files.create({
      tenantId: key.tenantId,
      apiKeyId: key.keyId,
      purpose,
      filename: file.filename.slice(0, 255),
      content: file.content,
    });
    this.storage.added(key.tenantId, file.content.length);
    return created;
  }

  @Get()
  list(@CurrentKey() key: VerifiedKey, @Query() query: Record<string, unknown>) {
    const purpose = typeof query.purpose === 'string' && query.purpose !== '' ? query.purpose : null;
    return this.files.list(key.tenantId, readListQuery(query, 10_000, 10_000), purpose);
  }

  @Get(':fileId')
  get(@CurrentKey() key: VerifiedKey, @Param('fileId') fileId: string) {
    return this.files.get(key.tenantId, fileId);
  }

  @Get(':fileId/content')
  async content(@CurrentKey() key: VerifiedKey, @Param('fileId') fileId: string, @Res() reply: FastifyReply) {
    const { filename, content } = await this.files.content(key.tenantId, fileId);
    void reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${filename.replace(/["\\\r\n]/g, '_')}"`)
      .send(content);
  }

  @Delete(':fileId')
  async delete(@CurrentKey() key: VerifiedKey, @Param('fileId') fileId: string) {
    const deleted = await this.files.delete(key.tenantId, fileId);
    this.storage.removed(key.tenantId);
    return deleted;
  }
}
