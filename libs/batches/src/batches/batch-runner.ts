import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { Metrics } from '@app/observability';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BATCH_SETTINGS, BatchSettings } from '../batch-settings';
import { BATCH_ENDPOINTS, BatchLine, parseBatchInput } from './batch-input';
import { BatchRow, BatchStatus } from './batch-object';
import { LineOutcome, succeeded } from './batch-output';
import { BatchLineRunner, LineContext } from './batch-line-runner';
import { BatchStore, KeyRefusal, LeaseLost } from './batch-store';

/** Results are written in groups of up to this many lines (or every heartbeat). */
const SAVE_GROUP = 32;
/** How often a running batch re-reads whether its API key may still be used. */
const KEY_CHECK_MS = 5000;

/** One batch this replica runs. */
interface ActiveBatch {
  row: BatchRow;
  status: BatchStatus;
  expired: boolean;
  /** Another replica took it over: stop without writing anything more. */
  lost: boolean;
  pending: { index: number; customId: string; outcome: LineOutcome }[];
  keyRefusal: KeyRefusal | null;
  keyCheckedAt: number;
  keyCheck: Promise<void> | null;
  /** The last write of answers (writes run one after another). */
  saving: Promise<void>;
}

/**
 * Runs open batches: each replica leases up to BATCH_MAX_ACTIVE of them from Postgres (FOR UPDATE
 * SKIP LOCKED; a lease a dead replica left runs out after BATCH_LEASE_MS and another takes the batch
 * over), validates the input file, runs its lines BATCH_CONCURRENCY at a time in the batch lane,
 * records each line's answer once, and writes the output and error files. Lines a previous
 * holder finished are not run again.
 */
@Injectable()
export class BatchRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Batches');
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private stopping = false;

  constructor(
    private readonly store: BatchStore,
    private readonly lines: BatchLineRunner,
    @Inject(BATCH_SETTINGS) private readonly settings: BatchSettings,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.maxActive === 0) return;
    this.timer = setInterval(() => void this.poll(), this.settings.pollMs);
    this.timer.unref();
  }

  /** Stops taking batches; lines in flight finish (up to SHUTDOWN_TIMEOUT_MS) and the leases are given back. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    const all = Promise.all(this.active.values());
    await Promise.race([all, sleep(this.settings.shutdownTimeoutMs)]);
  }

  /** Looks for batches to run now (the timer calls it; tests may too). */
  async poll(): Promise<void> {
    if (this.polling || this.stopping) return;
    this.polling = true;
    try {
      const free = this.settings.maxActive - this.active.size;
      if (free <= 0) return;
      for (const row of await this.store.claim(this.owner, this.settings.leaseMs, free)) {
        // Our own lease ran out (the database was away longer than it) and we took it again: the
        // run in progress goes on under the renewed lease.
        if (this.active.has(row.id)) continue;
        const run = this.run(row).finally(() => this.active.delete(row.id));
        this.active.set(row.id, run);
      }
    } catch (err) {
      this.logger.warn(`looking for batches failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  private async run(row: BatchRow): Promise<void> {
    const batch: ActiveBatch = {
      row,
      status: row.status,
      expired: new Date(row.expires_at).getTime() < Date.now(),
      lost: false,
      pending: [],
      keyRefusal: null,
      keyCheckedAt: 0,
      keyCheck: null,
      saving: Promise.resolve(),
    };
    const heartbeat = setInterval(
      () => void this.heartbeat(batch),
      Math.min(this.settings.pollMs, this.settings.leaseMs / 3),
    );
    heartbeat.unref(); // a run cut off by a shutdown does not hold the process
    try {
      const input = parseBatchInput(await this.store.input(row), row.endpoint, this.settings.maxRequests);
      if (input.errors.length > 0) {
        await this.store.fail(row.id, this.owner, input.errors);
        this.metrics?.batchEnded('failed');
        this.logger.log(`batch ${row.id} failed validation (${input.errors.length} errors)`);
        return;
      }
      await this.store.startRunning(row.id, input.lines.length);
      const done = await this.store.doneLines(row.id);
      const todo = input.lines.filter((l) => !done.has(l.index));
      await this.runLines(batch, todo);
      await this.save(batch);
      if (batch.lost || this.stopping) return;
      const ending = batch.status === 'cancelling' ? 'cancelled' : batch.expired ? 'expired' : 'completed';
      if (ending !== 'completed') {
        const left = await this.store.doneLines(row.id);
        const error = ending === 'cancelled' ? CANCELLED : EXPIRED;
        for (const l of input.lines.filter((x) => !left.has(x.index)))
          batch.pending.push({
            index: l.index,
            customId: l.customId,
            outcome: { statusCode: null, requestId: null, body: null, error },
          });
        await this.save(batch);
      }
      await this.store.finalize(row, this.owner, ending);
      this.metrics?.batchEnded(ending);
      this.logger.log(`batch ${row.id} ${ending}`);
    } catch (err) {
      if (!(err instanceof LeaseLost)) this.logger.error(`batch ${row.id}: ${(err as Error).message}`);
    } finally {
      clearInterval(heartbeat);
      if (!batch.lost) await this.store.release(row.id, this.owner).catch(() => undefined);
    }
  }

  /** Runs the lines BATCH_CONCURRENCY at a time until done, cancelled, expired, lost or stopping. */
  private async runLines(batch: ActiveBatch, todo: BatchLine[]): Promise<void> {
    const ctx: LineContext = {
      batchId: batch.row.id,
      tenantId: batch.row.tenant_id,
      apiKeyId: batch.row.api_key_id,
      kind: BATCH_ENDPOINTS[batch.row.endpoint],
    };
    let next = 0;
    const worker = async () => {
      while (next < todo.length && this.goingOn(batch)) {
        const line = todo[next++];
        const outcome = await this.runLine(batch, ctx, line);
        if (!outcome) return;
        batch.pending.push({ index: line.index, customId: line.customId, outcome });
        // A failed write keeps its answers queued for the next one; the workers go on, so a
        // database blip never leaves lines running unowned.
        if (batch.pending.length >= SAVE_GROUP)
          await this.save(batch).catch((err: Error) =>
            this.logger.warn(`batch ${batch.row.id}: writing answers failed: ${err.message}`),
          );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, todo.length) }, worker));
  }

  /** A line's answer; null when the batch stopped while the line waited to run again. */
  private async runLine(batch: ActiveBatch, ctx: LineContext, line: BatchLine): Promise<LineOutcome | null> {
    for (;;) {
      await this.checkKey(batch);
      if (batch.keyRefusal) {
        this.metrics?.batchLine('failed');
        return this.lines.refused(ctx, line, batch.keyRefusal);
      }
      const attempt = await this.lines.attempt(ctx, line);
      if ('outcome' in attempt) {
        this.metrics?.batchLine(succeeded(attempt.outcome) ? 'succeeded' : 'failed');
        return attempt.outcome;
      }
      this.metrics?.batchLine('retried');
      await sleep(attempt.retryInMs * (0.5 + Math.random()));
      if (!this.goingOn(batch)) return null;
    }
  }

  private goingOn(batch: ActiveBatch): boolean {
    return !batch.lost && !this.stopping && !batch.expired && batch.status !== 'cancelling';
  }

  /** Re-reads the key's state every KEY_CHECK_MS; lines wait for a read in progress. */
  private async checkKey(batch: ActiveBatch): Promise<void> {
    if (!batch.keyRefusal && Date.now() - batch.keyCheckedAt >= KEY_CHECK_MS) {
      batch.keyCheckedAt = Date.now();
      batch.keyCheck = this.store.keyRefusal(batch.row.api_key_id).then((r) => {
        batch.keyRefusal = r;
      });
    }
    await batch.keyCheck;
  }

  /** Renews the lease, reads cancellation and expiry, and writes the answers gathered so far. */
  private async heartbeat(batch: ActiveBatch): Promise<void> {
    try {
      const state = await this.store.renew(batch.row.id, this.owner, this.settings.leaseMs);
      if (!state) {
        batch.lost = true;
        return;
      }
      batch.status = state.status;
      batch.expired = state.expired;
      await this.save(batch);
    } catch (err) {
      this.logger.warn(`batch ${batch.row.id}: heartbeat failed: ${(err as Error).message}`);
    }
  }

  /** Writes the answers gathered so far, after any write in progress (so a caller sees them all written). */
  private save(batch: ActiveBatch): Promise<void> {
    const next = batch.saving.then(() => this.saveNow(batch));
    batch.saving = next.catch(() => undefined);
    return next;
  }

  private async saveNow(batch: ActiveBatch): Promise<void> {
    if (batch.lost || batch.pending.length === 0) return;
    const group = batch.pending.splice(0);
    try {
      await this.store.saveResults(batch.row.id, group);
    } catch (err) {
      batch.pending.unshift(...group); // written with the next group
      throw err;
    }
  }
}

const CANCELLED = { code: 'batch_cancelled', message: 'The batch was cancelled before this request ran.' };
const EXPIRED = { code: 'batch_expired', message: 'The batch expired before this request ran.' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
