import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isAbsolute, join } from 'node:path';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common';
import { Metrics } from '@app/observability';
import { meteringGauges } from './metering-metrics';
import { InFlightMarkers } from './in-flight-markers';
import { JournalSegment, UsageJournal } from './journal/usage-journal';
import { toUsageRecord, UsageEventInput, UsageEventRecord, UsageJournalEntry } from './usage-event';
import { UsageWriter } from './usage-writer';

export interface MeteringStats {
  recorded: number;
  written: number;
  duplicates: number;
  invalid: number;
  failedFlushes: number;
  pendingSegments: number;
  buffered: number;
  databaseUp: boolean;
}

const MAX_BACKOFF_MS = 5_000;
/**
 * The default of METERING_MARKER_DELAY_MS: a request's marker is journaled once it has run this
 * long (then, while its completion tokens grow, every this often). Journaling every admission cost the gateway's JS thread ~50 µs per
 * request and 15-20% of its req/s with max_tokens 1 (batching the writes per event-loop turn
 * recovered little of it); the price of waiting is that a crash within this time of a request's
 * admission loses its usage.
 */
export const MARKER_MIN_AGE_MS = 100;

/**
 * Usage events off the hot path. record() validates, appends the event to the local journal
 * (write-ahead; survives kill -9) and buffers it. A flush every METERING_FLUSH_INTERVAL_MS (or
 * once METERING_BATCH_SIZE events are buffered) closes the journal segment and writes its events
 * with INSERT ... ON CONFLICT DO NOTHING plus the rollup; the segment is deleted only after the
 * commit. While Postgres is unreachable segments stay on disk and are replayed with backoff; at
 * startup leftover segments (crash, earlier outage) are replayed. Shutdown flushes.
 *
 * open() registers an admitted request; record() (its final event) retires it. A request running
 * for METERING_MARKER_DELAY_MS gets a marker in the journal, rewritten while its completion tokens grow
 * and in each new segment, so the newest segment holds the latest figures of every
 * such request; the replay of a dead process's journal stores each marker that has no final
 * event (see UsageJournalEntry). A kill -9 thus bills the requests it cut off, up to their last
 * marker (at most that old), except those admitted less than that before it (none with 0).
 */
@Injectable()
export class MeteringService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MeteringService.name);
  private readonly writer: UsageWriter;
  private readonly journal: UsageJournal;
  private readonly enabled: boolean;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private buffer: UsageEventRecord[] = [];
  /** Admitted requests without a final event yet (their journal markers). */
  private readonly inFlight: InFlightMarkers;
  /** METERING_MARKER_DELAY_MS; 0: every admitted request is journaled at once. */
  private readonly markerDelayMs: number;
  private markerTimer: NodeJS.Timeout | null = null;
  /** Per dead process (journal owner): its unfinished requests, each with the last segment holding its marker. */
  private readonly deadOwners = new Map<string, Map<string, string>>();
  /** Events of closed segments still held in memory (saves re-reading the file). */
  private readonly segmentEvents = new Map<string, UsageEventRecord[]>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private flushRequested = false;
  private retryAt = 0;
  private backoffMs = 0;
  private opened = false;
  private closing = false;
  private readonly stats: MeteringStats = {
    recorded: 0,
    written: 0,
    duplicates: 0,
    invalid: 0,
    failedFlushes: 0,
    pendingSegments: 0,
    buffered: 0,
    databaseUp: true,
  };

  constructor(
    @InjectDataSource() dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.writer = new UsageWriter(dataSource);
    const raw = config.raw ?? {};
    this.enabled = raw.METERING_ENABLED !== false;
    this.flushIntervalMs =
      typeof raw.METERING_FLUSH_INTERVAL_MS === 'number' ? raw.METERING_FLUSH_INTERVAL_MS : 1000;
    this.batchSize = typeof raw.METERING_BATCH_SIZE === 'number' ? raw.METERING_BATCH_SIZE : 500;
    this.markerDelayMs =
      typeof raw.METERING_MARKER_DELAY_MS === 'number' ? raw.METERING_MARKER_DELAY_MS : MARKER_MIN_AGE_MS;
    this.inFlight = new InFlightMarkers(this.markerDelayMs);
    const dataDir = isAbsolute(config.dataDir) ? config.dataDir : join(process.cwd(), config.dataDir);
    this.journal = new UsageJournal(join(dataDir, 'metering-journal'));
    metrics?.onRefresh(() => meteringGauges(metrics, this.buffer, this.segmentEvents, this.journal));
  }

  get journalDir(): string {
    return this.journal.dir;
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  /** Opens the journal, replays what earlier runs left and starts the flush timer (idempotent). */
  start(): void {
    if (this.opened || !this.enabled) return;
    this.journal.open();
    this.opened = true;
    this.timer = setInterval(() => this.kick(), this.flushIntervalMs);
    this.timer.unref();
    // Also with delay 0: markers of running requests follow their completion tokens this often.
    this.markerTimer = setInterval(() => this.journalMarkers(), this.markerDelayMs || MARKER_MIN_AGE_MS);
    this.markerTimer.unref();
    this.kick();
  }

  /** Enqueues one usage event. Synchronous and never throws (a bad event is logged and dropped). */
  record(event: UsageEventInput): void {
    if (!this.enabled) return;
    try {
      const record = this.validated(event);
      if (!record) return;
      this.inFlight.finish(record.requestId);
      this.enqueue(record);
      this.metrics?.tenantUsage(event.tenantId, event.promptTokens, event.completionTokens);
    } catch (err) {
      this.logger.error(`usage event not recorded: ${(err as Error).message}`);
    }
  }

  /**
   * An admitted request: its marker (what is stored, status `error`, if this process dies before
   * the request's record()) is journaled once it has run METERING_MARKER_DELAY_MS, and again whenever its
   * completionTokens, which the caller keeps current, have grown. Never throws.
   */
  open(marker: UsageEventInput): void {
    if (!this.enabled) return;
    if (!this.opened) this.start();
    this.inFlight.open(marker, Date.now());
    if (this.markerDelayMs === 0) this.journalMarkers(); // billed even if the process dies now
  }

  /** Journals the due markers (one write(2)); an invalid one is logged and left out. */
  private journalMarkers(): void {
    let lines = '';
    for (const marker of this.inFlight.due(Date.now())) {
      const record = toUsageRecord(marker);
      if (typeof record === 'string') this.logger.error(`usage marker not journaled: ${record}`);
      else lines += UsageJournal.line({ ...record, open: true });
    }
    if (lines) this.appendLines(lines);
  }

  private validated(event: UsageEventInput): UsageEventRecord | null {
    const record = toUsageRecord(event);
    if (typeof record === 'string') {
      this.stats.invalid += 1;
      this.logger.error(`usage event dropped: ${record}`);
      return null;
    }
    if (!this.opened) this.start();
    return record;
  }

  private enqueue(record: UsageEventRecord): void {
    this.buffer.push(record);
    this.stats.recorded += 1;
    this.appendLines(UsageJournal.line(record));
    if (this.buffer.length >= this.batchSize) this.kick();
  }

  private appendLines(lines: string): void {
    try {
      this.journal.appendLines(lines);
    } catch (err) {
      // Disk full or similar: a final event stays in memory and is still written by the next flush.
      this.logger.error(`usage journal append failed: ${(err as Error).message}`);
    }
  }

  /** Writes everything recorded so far (tests, shutdown). Resolves when done or failed. */
  async flush(): Promise<void> {
    this.retryAt = 0;
    this.flushRequested = true;
    while (this.running) await this.running;
    await this.runOnce(true);
  }

  getStats(): MeteringStats {
    return { ...this.stats, buffered: this.buffer.length, pendingSegments: this.journal.pending().length };
  }

  private kick(): void {
    if (this.running) {
      this.flushRequested = true;
      return;
    }
    this.running = this.runOnce(false).finally(() => {
      this.running = null;
      if (this.flushRequested && !this.closing) {
        this.flushRequested = false;
        if (this.buffer.length >= this.batchSize) setImmediate(() => this.kick());
      }
    });
  }

  private async runOnce(force: boolean): Promise<void> {
    if (!this.opened) return;
    try {
      this.journalMarkers(); // due ones now, not at the next tick: a flush sees every marker that is due
      const closed = await this.journal.rotate();
      if (closed) {
        this.segmentEvents.set(closed.name, this.buffer);
        this.buffer = [];
        // The closed segment is deleted once written: the new one gets the markers of what still runs.
        this.inFlight.rotated();
        this.journalMarkers();
      }
      if (!force && Date.now() < this.retryAt) return;
      await this.drain();
    } catch (err) {
      this.logger.error(`usage flush failed: ${(err as Error).message}`);
    }
  }

  /** Writes every pending segment, oldest first; stops at the first database error. */
  private async drain(): Promise<void> {
    for (const segment of this.journal.pending()) {
      const events = this.segmentEvents.get(segment.name) ?? this.readSegment(segment);
      try {
        for (let i = 0; i < events.length; i += this.batchSize) {
          const chunk = events.slice(i, i + this.batchSize);
          const started = performance.now();
          const inserted = await this.writer.write(chunk).catch((err: unknown) => {
            this.metrics?.meteringFlushed(performance.now() - started, false);
            throw err;
          });
          this.metrics?.meteringFlushed(performance.now() - started, true);
          this.stats.written += inserted;
          this.stats.duplicates += chunk.length - inserted;
        }
      } catch (err) {
        this.onDatabaseError(err as Error);
        // Keep at most the newest segments in memory during a long outage; the rest is on disk.
        if (this.segmentEvents.size > 50) this.segmentEvents.delete(this.segmentEvents.keys().next().value!);
        return;
      }
      this.journal.remove(segment);
      this.segmentEvents.delete(segment.name);
      if (!this.stats.databaseUp) this.logger.log('usage database reachable again: journal replayed');
      this.stats.databaseUp = true;
      this.backoffMs = 0;
      this.retryAt = 0;
    }
  }

  /**
   * A segment's events to write: its final events, and for a dead process's segment also the
   * markers of requests it never finished (each once: the last line of the last segment that
   * holds it).
   */
  private readSegment(segment: JournalSegment): UsageEventRecord[] {
    const entries = this.readEntries(segment);
    const finals = entries.filter((e) => !e.open);
    if (this.journal.isMine(segment)) return finals; // our markers: requests still running here
    const unfinished = this.unfinishedOf(this.journal.owner(segment));
    const markers = new Map<string, UsageEventRecord>(); // the last line of each: its latest figures
    for (const e of entries)
      if (e.open && unfinished.get(e.requestId) === segment.name) {
        const { open: _marker, ...event } = e;
        markers.set(e.requestId, event);
      }
    finals.push(...markers.values());
    return finals;
  }

  private readEntries(segment: JournalSegment): UsageJournalEntry[] {
    const { events, skipped } = this.journal.read(segment);
    if (skipped > 0) this.logger.warn(`usage journal ${segment.name}: ${skipped} unreadable line(s) skipped`);
    return events;
  }

  /**
   * A dead process's requests without a final event, each with the last of its pending segments
   * that holds its marker (read once: nobody writes them any more). One pass in write order: a
   * request's markers all precede its final event (record() retires it before writing that).
   */
  private unfinishedOf(owner: string): Map<string, string> {
    let unfinished = this.deadOwners.get(owner);
    if (!unfinished) {
      unfinished = new Map<string, string>();
      for (const segment of this.journal.pending()) {
        if (this.journal.owner(segment) !== owner) continue;
        for (const e of this.readEntries(segment))
          if (e.open) unfinished.set(e.requestId, segment.name);
          else unfinished.delete(e.requestId);
      }
      this.deadOwners.set(owner, unfinished);
    }
    return unfinished;
  }

  private onDatabaseError(err: Error): void {
    this.stats.failedFlushes += 1;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(this.flushIntervalMs, this.backoffMs * 2));
    this.retryAt = Date.now() + this.backoffMs;
    if (this.stats.databaseUp) {
      this.logger.warn(`usage events kept in the local journal, database write failed: ${err.message}`);
    }
    this.stats.databaseUp = false;
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.opened) return;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await this.running;
    if (this.markerTimer) clearInterval(this.markerTimer);
    this.markerTimer = null;
    // Requests still running now would lose their usage with this process's journal: store their
    // markers (prompt tokens, status error). A final event that still comes is then a duplicate.
    const running = this.inFlight.takeAll();
    if (running.length > 0) {
      this.logger.warn(`${running.length} request(s) still running at shutdown: stored from their markers`);
      for (const marker of running) {
        const record = this.validated(marker);
        if (record) this.enqueue(record);
      }
    }
    const closed = await this.journal.close();
    if (closed) {
      this.segmentEvents.set(closed.name, this.buffer);
      this.buffer = [];
    }
    this.opened = false;
    try {
      await Promise.race([this.drainClosed(), new Promise((r) => setTimeout(r, 5_000).unref())]);
    } catch (err) {
      this.logger.warn(`final usage flush failed (kept in the journal): ${(err as Error).message}`);
    }
  }

  private async drainClosed(): Promise<void> {
    await this.drain();
  }
}
