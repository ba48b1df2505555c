import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { updateReturning } from '@app/database';
import { keyStateFailure, KeyFailure } from '@app/tenants';
import { FilesService } from '../files/files.service';
import { BatchInputError } from './batch-input';
import { BatchRow, BatchStatus } from './batch-object';
import { LineOutcome, outputLine, succeeded } from './batch-output';

/** Why an API key can no longer run a batch's lines. */
export type KeyRefusal = Exclude<KeyFailure, 'malformed'>;

/** The batch was taken over by another replica (its lease expired). */
export class LeaseLost extends Error {
  constructor(batchId: string) {
    super(`lost the lease of ${batchId}`);
  }
}

/** The batch runner's reads and writes (leases, results, finalization). */
@Injectable()
export class BatchStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly files: FilesService,
  ) {}

  /**
   * Takes up to `limit` open batches no live replica holds, taking turns between tenants: a
   * tenant's n-th waiting batch, after the ones it already has running on any replica, goes
   * after every other tenant's earlier turns (then the oldest first), so one tenant's queue of
   * batches does not hold back another tenant's first one.
   */
  async claim(owner: string, leaseMs: number, limit: number): Promise<BatchRow[]> {
    return updateReturning(
      this.dataSource,
      `WITH waiting AS (
         SELECT b.id, b.created_at,
                row_number() OVER (PARTITION BY b.tenant_id ORDER BY b.created_at)
                  + (SELECT count(*) FROM batches r
                      WHERE r.tenant_id = b.tenant_id AND r.lease_until >= now()
                        AND r.status IN ('validating', 'in_progress', 'cancelling')) AS turn
           FROM batches b
          WHERE b.status IN ('validating', 'in_progress', 'cancelling')
            AND (b.lease_until IS NULL OR b.lease_until < now())),
       picked AS (
         SELECT b.id FROM batches b JOIN waiting w ON w.id = b.id
          WHERE b.status IN ('validating', 'in_progress', 'cancelling')
            AND (b.lease_until IS NULL OR b.lease_until < now())
          ORDER BY w.turn, w.created_at
          LIMIT $3 FOR UPDATE OF b SKIP LOCKED)
       UPDATE batches SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
        WHERE id IN (SELECT id FROM picked)
        RETURNING *`,
      [owner, leaseMs, limit],
    );
  }

  /** Extends the lease; answers the batch's status, or null when another replica took it over. */
  async renew(
    batchId: string,
    owner: string,
    leaseMs: number,
  ): Promise<{ status: BatchStatus; expired: boolean } | null> {
    const rows = await updateReturning<{ status: BatchStatus; expired: boolean }>(
      this.dataSource,
      `UPDATE batches SET lease_until = now() + $3 * interval '1 millisecond'
        WHERE id = $1 AND lease_owner = $2 RETURNING status, expires_at < now() AS expired`,
      [batchId, owner, leaseMs],
    );
    return rows[0] ?? null;
  }

  async release(batchId: string, owner: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE batches SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
      [batchId, owner],
    );
  }

  async input(row: BatchRow): Promise<Buffer> {
    return (await this.files.content(row.tenant_id, row.input_file_id)).content;
  }

  /** validating → in_progress with its request count (a batch cancelled meanwhile stays cancelling). */
  async startRunning(batchId: string, total: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE batches SET total = $2,
              status = CASE WHEN status = 'validating' THEN 'in_progress' ELSE status END,
              in_progress_at = CASE WHEN status = 'validating' THEN now() ELSE in_progress_at END
        WHERE id = $1`,
      [batchId, total],
    );
  }

  async fail(batchId: string, owner: string, errors: BatchInputError[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE batches SET status = 'failed', failed_at = now(), errors = $3, lease_owner = NULL, lease_until = NULL
        WHERE id = $1 AND lease_owner = $2`,
      [batchId, owner, { object: 'list', data: errors }],
    );
  }

  async doneLines(batchId: string): Promise<Set<number>> {
    const rows: { line: number }[] = await this.dataSource.query(
      `SELECT line FROM batch_results WHERE batch_id = $1`,
      [batchId],
    );
    return new Set(rows.map((r) => r.line));
  }

  /** Records lines' outcomes once (a line already recorded keeps its first) and counts them. */
  async saveResults(batchId: string, results: { index: number; customId: string; outcome: LineOutcome }[]) {
    if (results.length === 0) return;
    const col = <T>(f: (r: (typeof results)[number]) => T) => results.map(f);
    const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
    await this.dataSource.query(
      `WITH input AS (
         SELECT * FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::boolean[])
           AS x(line, custom_id, status_code, request_id, body, error, ok)),
       ins AS (
         INSERT INTO batch_results (batch_id, line, custom_id, status_code, request_id, body, error)
         SELECT $1, line, custom_id, status_code, request_id, body, error FROM input
         ON CONFLICT DO NOTHING RETURNING line)
       UPDATE batches SET
         completed = completed + (SELECT count(*) FROM ins JOIN input USING (line) WHERE input.ok),
         failed = failed + (SELECT count(*) FROM ins JOIN input USING (line) WHERE NOT input.ok)
       WHERE id = $1`,
      [
        batchId,
        col((r) => r.index),
        col((r) => r.customId),
        col((r) => r.outcome.statusCode),
        col((r) => r.outcome.requestId),
        col((r) => json(r.outcome.body)),
        col((r) => json(r.outcome.error)),
        col((r) => succeeded(r.outcome)),
      ],
    );
  }

  /** Why the batch's API key may no longer run requests (the API key guard's rule), or null. */
  async keyRefusal(apiKeyId: string): Promise<KeyRefusal | null> {
    const rows: { revoked_at: Date | null; expires_at: Date | null; tenant_status: string }[] =
      await this.dataSource.query(
        `SELECT k.revoked_at, k.expires_at, t.status AS tenant_status
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = $1`,
        [apiKeyId],
      );
    const r = rows[0];
    if (!r) return 'unknown';
    const ms = (d: Date | null) => (d === null ? null : new Date(d).getTime());
    return keyStateFailure(
      { revokedAt: ms(r.revoked_at), expiresAt: ms(r.expires_at), tenantStatus: r.tenant_status },
      Date.now(),
    );
  }

  /**
   * Writes the output file (2xx answers) and the error file (the rest), in line order, with the
   * batch's token usage, and ends the batch in `status` (completed, cancelled or expired), in one
   * transaction: a replica dying here leaves the batch open for another to finish.
   */
  async finalize(row: BatchRow, owner: string, status: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const results: {
        line: number;
        custom_id: string;
        status_code: number | null;
        request_id: string | null;
        body: string | null;
        error: string | null;
      }[] = await m.query(
        `SELECT line, custom_id, status_code, request_id, body, error FROM batch_results WHERE batch_id = $1 ORDER BY line`,
        [row.id],
      );
      const output: string[] = [];
      const errors: string[] = [];
      let input = 0;
      let outputTokens = 0;
      for (const r of results) {
        const o: LineOutcome = {
          statusCode: r.status_code,
          requestId: r.request_id,
          body: r.body === null ? null : JSON.parse(r.body),
          error: r.error === null ? null : JSON.parse(r.error),
        };
        (succeeded(o) ? output : errors).push(outputLine(row.id, r.line, r.custom_id, o));
        const usage = succeeded(o)
          ? (o.body as { usage?: { prompt_tokens?: number; completion_tokens?: number } }).usage
          : undefined;
        input += usage?.prompt_tokens ?? 0;
        outputTokens += usage?.completion_tokens ?? 0;
      }
      const file = async (lines: string[], suffix: string) =>
        lines.length === 0
          ? null
          : (
              await this.files.create(
                {
                  tenantId: row.tenant_id,
                  apiKeyId: row.api_key_id,
                  purpose: 'batch_output',
                  filename: `${row.id}_${suffix}.jsonl`,
                  content: Buffer.from(lines.join('\n') + '\n'),
                },
                m,
              )
            ).id;
      const outputFileId = await file(output, 'output');
      const errorFileId = await file(errors, 'error');
      const ended = await updateReturning(
        m,
        `UPDATE batches SET status = $3, finalizing_at = now(), ${status}_at = now(),
                output_file_id = $4, error_file_id = $5, usage = $6, lease_owner = NULL, lease_until = NULL
          WHERE id = $1 AND lease_owner = $2 RETURNING id`,
        [
          row.id,
          owner,
          status,
          outputFileId,
          errorFileId,
          { input_tokens: input, output_tokens: outputTokens, total_tokens: input + outputTokens },
        ],
      );
      // Another replica took the batch over: its files are not written (rollback).
      if (ended.length === 0) throw new LeaseLost(row.id);
      // The answers live on in the files; the rows only served a takeover.
      await m.query(`DELETE FROM batch_results WHERE batch_id = $1`, [row.id]);
    });
  }
}
