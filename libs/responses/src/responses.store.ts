import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { deleteInChunks, updateReturning } from '@app/database';
import { RESPONSES_SETTINGS, ResponsesSettings } from './responses-settings';
import { ResponseItem } from './response-items';
import { ResponseObject } from './response-object';

export interface StoredResponse {
  /** The conversation it answered: the earlier turns of its chain, then its own input. */
  context: ResponseItem[];
  response: ResponseObject;
}

/**
 * Stored responses (store: true) of a tenant, for retrieval and for `previous_response_id`. Kept
 * as JSON text, not jsonb: generated text may hold U+0000, which jsonb refuses.
 */
@Injectable()
export class ResponsesStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(RESPONSES_SETTINGS) private readonly settings: ResponsesSettings,
  ) {}

  /**
   * Stores a response; one with the same id already stored (a batch line run again) is kept.
   * Returns the bytes it holds (what TENANT_STORAGE_MAX_BYTES counts).
   */
  async save(tenantId: string, apiKeyId: string, stored: StoredResponse): Promise<number> {
    const context = JSON.stringify(stored.context);
    const response = JSON.stringify(stored.response);
    await this.dataSource.query(
      `INSERT INTO responses (id, tenant_id, api_key_id, created_at, expires_at, context, response)
       VALUES ($1, $2, $3, to_timestamp($4), CASE WHEN $5::int > 0 THEN now() + $5 * interval '1 day' END, $6, $7)
       ON CONFLICT (id) DO NOTHING`,
      [
        stored.response.id,
        tenantId,
        apiKeyId,
        stored.response.created_at,
        this.settings.retentionDays,
        context,
        response,
      ],
    );
    return Buffer.byteLength(context) + Buffer.byteLength(response);
  }

  /** The tenant's stored response, or null (another tenant's is not found either). */
  async find(tenantId: string, id: string): Promise<StoredResponse | null> {
    const rows: { context: string; response: string }[] = await this.dataSource.query(
      `SELECT context, response FROM responses
        WHERE id = $1 AND tenant_id = $2 AND (expires_at IS NULL OR expires_at > now())`,
      [id, tenantId],
    );
    if (rows.length === 0) return null;
    return {
      context: JSON.parse(rows[0].context) as ResponseItem[],
      response: JSON.parse(rows[0].response) as ResponseObject,
    };
  }

  /** Deletes the tenant's response; false when there was none. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const deleted = await updateReturning(
      this.dataSource,
      `DELETE FROM responses WHERE id = $1 AND tenant_id = $2 RETURNING id`,
      [id, tenantId],
    );
    return deleted.length > 0;
  }

  /** Deletes responses past their expires_at, a chunk at a time; returns how many. */
  prune(): Promise<number> {
    return deleteInChunks(this.dataSource, {
      table: 'responses',
      key: 'id',
      where: 't.expires_at < now()',
      chunk: 1000,
    });
  }
}
