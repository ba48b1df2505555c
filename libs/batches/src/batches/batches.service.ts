import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiError, ListQuery, listPage } from '@app/common';
import { updateReturning } from '@app/database';
import { readMetadata } from '@app/inference';
import { BATCH_SETTINGS, BatchSettings } from '../batch-settings';
import { FilesService } from '../files/files.service';
import { newBatchId } from '../ids';
import { pageSql } from '../list-query';
import { BATCH_ENDPOINTS } from './batch-input';
import { batchObject, BatchRow } from './batch-object';

/** The completion windows accepted (OpenAI accepts only 24h). */
const WINDOWS: Record<string, number> = { '24h': 24 * 3600 * 1000 };

export interface CreateBatchInput {
  tenantId: string;
  apiKeyId: string;
  body: unknown;
}

/** Creating, reading and cancelling a tenant's batches; BatchRunner runs them. */
@Injectable()
export class BatchesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly files: FilesService,
    @Inject(BATCH_SETTINGS) private readonly settings: BatchSettings,
  ) {}

  async create({ tenantId, apiKeyId, body }: CreateBatchInput) {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw ApiError.badRequest('The body must be a JSON object.');
    const b = body as Record<string, unknown>;
    const fileId = requiredString(b, 'input_file_id');
    const endpoint = requiredString(b, 'endpoint');
    if (!(endpoint in BATCH_ENDPOINTS))
      throw ApiError.badRequest(
        `endpoint must be one of: ${Object.keys(BATCH_ENDPOINTS).join(', ')}.`,
        'endpoint',
      );
    const window = requiredString(b, 'completion_window');
    if (!(window in WINDOWS))
      throw ApiError.badRequest(
        `completion_window must be one of: ${Object.keys(WINDOWS).join(', ')}.`,
        'completion_window',
      );
    const metadata = readMetadata(b.metadata);
    const file = await this.files.row(tenantId, fileId);
    await this.assertRoomFor(tenantId);
    if (file.purpose !== 'batch')
      throw ApiError.badRequest(
        `File ${fileId} has purpose "${file.purpose}"; a batch needs "batch".`,
        'input_file_id',
      );
    const rows: BatchRow[] = await this.dataSource.query(
      `INSERT INTO batches (id, tenant_id, api_key_id, endpoint, input_file_id, completion_window, status, metadata, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'validating', $7, now() + $8 * interval '1 millisecond') RETURNING *`,
      [newBatchId(), tenantId, apiKeyId, endpoint, fileId, window, metadata, WINDOWS[window]],
    );
    return batchObject(rows[0]);
  }

  /** A tenant may have BATCH_MAX_OPEN_PER_TENANT batches open; one more is a 429 until one ends. */
  private async assertRoomFor(tenantId: string): Promise<void> {
    const [{ open }]: { open: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS open FROM batches
        WHERE tenant_id = $1 AND status IN ('validating', 'in_progress', 'cancelling')`,
      [tenantId],
    );
    const limit = this.settings.maxOpenPerTenant;
    if (open >= limit)
      throw new ApiError(
        429,
        `This tenant has ${open} batches open; the limit is ${limit}. Wait for one to end.`,
        {
          type: 'rate_limit_exceeded',
          code: 'batch_limit_exceeded',
          headers: { 'retry-after': '60' },
        },
      );
  }

  async get(tenantId: string, batchId: string) {
    return batchObject(await this.row(tenantId, batchId));
  }

  async list(tenantId: string, q: ListQuery) {
    const rows: BatchRow[] = await this.dataSource.query(pageSql('batches', 't.*'), [
      tenantId,
      q.after,
      q.limit + 1,
    ]);
    return listPage(rows.map(batchObject), q.limit);
  }

  /**
   * Asks for a batch to stop: lines in flight finish, the others are written to the error file as
   * `batch_cancelled`, and the runner marks it cancelled. Cancelling a cancelled batch is a no-op.
   */
  async cancel(tenantId: string, batchId: string) {
    const rows = await updateReturning<BatchRow>(
      this.dataSource,
      `UPDATE batches SET status = 'cancelling', cancelling_at = now()
        WHERE id = $1 AND tenant_id = $2 AND status IN ('validating', 'in_progress') RETURNING *`,
      [batchId, tenantId],
    );
    if (rows.length > 0) return batchObject(rows[0]);
    const row = await this.row(tenantId, batchId);
    if (row.status === 'cancelling' || row.status === 'cancelled') return batchObject(row);
    throw ApiError.conflict(
      `Batch ${batchId} is ${row.status}; it can no longer be cancelled.`,
      null,
      'batch_not_cancellable',
    );
  }

  /** Operators' view: batches of every tenant (or one), optionally in one status, newest first. */
  async adminList(filter: { tenantId: string | null; status: string | null }, q: ListQuery) {
    const rows: BatchRow[] = await this.dataSource.query(
      pageSql('batches', 't.*', 'AND ($4::varchar IS NULL OR t.status = $4)'),
      [filter.tenantId, q.after, q.limit + 1, filter.status],
    );
    return listPage(
      rows.map((r) => ({ ...batchObject(r), tenant_id: r.tenant_id, api_key_id: r.api_key_id })),
      q.limit,
    );
  }

  /** The tenant a batch belongs to (operators' endpoints), or 404. */
  async tenantOf(batchId: string): Promise<string> {
    const rows: { tenant_id: string }[] = await this.dataSource.query(
      `SELECT tenant_id FROM batches WHERE id = $1`,
      [batchId],
    );
    if (rows.length === 0)
      throw ApiError.notFound(`No such batch: ${batchId}.`, 'batch_not_found', 'batch_id');
    return rows[0].tenant_id;
  }

  private async row(tenantId: string, batchId: string): Promise<BatchRow> {
    const rows: BatchRow[] = await this.dataSource.query(
      `SELECT * FROM batches WHERE id = $1 AND tenant_id = $2`,
      [batchId, tenantId],
    );
    if (rows.length === 0)
      throw ApiError.notFound(`No such batch: ${batchId}.`, 'batch_not_found', 'batch_id');
    return rows[0];
  }
}

function requiredString(b: Record<string, unknown>, name: string): string {
  const v = b[name];
  if (v === undefined || v === null)
    throw ApiError.badRequest(`'${name}' is required.`, name, 'missing_required_parameter');
  if (typeof v !== 'string' || v === '')
    throw ApiError.badRequest(`${name} must be a non-empty string.`, name);
  return v;
}
