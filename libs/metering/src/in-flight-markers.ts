import { UsageEventInput } from './usage-event';

interface Running {
  marker: UsageEventInput;
  openedAt: number;
  /** Completion tokens in the marker last journaled in the current segment; -1: none there. */
  journaledTokens: number;
}

/**
 * Admitted requests that have not finished, for the journal markers (see UsageJournalEntry). The
 * markers are the callers' objects: their completionTokens grow while the requests run.
 * Opening one costs a Map entry: a marker is serialized only once the request has run for
 * `minAgeMs` (most requests finish before), and again when its completion tokens changed or the
 * journal rotated, so the newest segment always has the latest figures of every request older
 * than that.
 */
export class InFlightMarkers {
  private readonly running = new Map<string, Running>();

  constructor(private readonly minAgeMs: number) {}

  get size(): number {
    return this.running.size;
  }

  open(marker: UsageEventInput, now: number): void {
    this.running.set(marker.requestId, { marker, openedAt: now, journaledTokens: -1 });
  }

  finish(requestId: string): void {
    this.running.delete(requestId);
  }

  /** The markers to journal now (requests old enough whose journaled figures are missing or stale). */
  due(now: number): UsageEventInput[] {
    const out: UsageEventInput[] = [];
    for (const r of this.running.values()) {
      if (now - r.openedAt < this.minAgeMs || r.journaledTokens === r.marker.completionTokens) continue;
      r.journaledTokens = r.marker.completionTokens;
      out.push(r.marker);
    }
    return out;
  }

  /** A new journal segment holds no marker yet. */
  rotated(): void {
    for (const r of this.running.values()) r.journaledTokens = -1;
  }

  /** Every running request's marker, forgetting them all (shutdown). */
  takeAll(): UsageEventInput[] {
    const all = [...this.running.values()].map((r) => r.marker);
    this.running.clear();
    return all;
  }
}
