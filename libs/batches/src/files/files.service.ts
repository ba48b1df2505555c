import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ApiError, ListQuery, listPage } from '@app/common';
import { BATCH_SETTINGS, BatchSettings } from '../batch-settings';
import { newFileId } from '../ids';
import { pageSql } from '../list-query';
import { FILE_COLUMNS, fileObject, FileRow } from './file-object';

/** Purposes a client may upload; batch output files are written by the batch runner. */
export const UPLOAD_PURPOSES = ['batch'] as const;

export interface NewFile {
  tenantId: string;
  apiKeyId: string | null;
  purpose: string;
  filename: string;
  content: Buffer;
}

/** Files of a tenant, their bytes in Postgres (every replica serves them). */
@Injectable()
export class FilesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BATCH_SETTINGS) private readonly settings: BatchSettings,
  ) {}

  async create(file: NewFile, m: EntityManager = this.dataSource.manager) {
    const rows: FileRow[] = await m.query(
      `INSERT INTO files AS t (id, tenant_id, api_key_id, purpose, filename, bytes, content, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::int > 0 THEN now() + $8 * interval '1 day' END)
       RETURNING ${FILE_COLUMNS}`,
      [
        newFileId(),
        file.tenantId,
        file.apiKeyId,
        file.purpose,
        file.filename,
        file.content.length,
        file.content,
        this.settings.filesRetentionDays,
      ],
    );
    return fileObject(rows[0]);
  }

  async get(tenantId: string, fileId: string) {
    return fileObject(await this.row(tenantId, fileId));
  }

  async content(tenantId: string, fileId: string): Promise<{ filename: string; content: Buffer }> {
    const rows: { filename: string; content: Buffer }[] = await this.dataSource.query(
      `SELECT filename, content FROM files WHERE id = $1 AND tenant_id = $2`,
      [fileId, tenantId],
    );
    if (rows.length === 0) throw notFound(fileId);
    return rows[0];
  }

  async list(tenantId: string, q: ListQuery, purpose: string | null) {
    const rows: FileRow[] = await this.dataSource.query(
      pageSql('files', FILE_COLUMNS, purpose === null ? '' : 'AND t.purpose = $4'),
      [tenantId, q.after, q.limit + 1, ...(purpose === null ? [] : [purpose])],
    );
    return listPage(rows.map(fileObject), q.limit);
  }

  /** Deletes a file; the input of a batch still running is kept until the batch ends (409). */
  async delete(tenantId: string, fileId: string) {
    await this.row(tenantId, fileId);
    const busy: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM batches WHERE tenant_id = $1 AND input_file_id = $2
         AND status IN ('validating', 'in_progress', 'cancelling') LIMIT 1`,
      [tenantId, fileId],
    );
    if (busy.length > 0)
      throw ApiError.conflict(
        `File ${fileId} is the input of a batch that has not ended.`,
        'file_id',
        'file_in_use',
      );
    await this.dataSource.query(`DELETE FROM files WHERE id = $1 AND tenant_id = $2`, [fileId, tenantId]);
    return { id: fileId, object: 'file' as const, deleted: true };
  }

  async row(tenantId: string, fileId: string): Promise<FileRow> {
    const rows: FileRow[] = await this.dataSource.query(
      `SELECT ${FILE_COLUMNS} FROM files t WHERE t.id = $1 AND t.tenant_id = $2`,
      [fileId, tenantId],
    );
    if (rows.length === 0) throw notFound(fileId);
    return rows[0];
  }
}

const notFound = (fileId: string) =>
  ApiError.notFound(`No such file: ${fileId}.`, 'file_not_found', 'file_id');
