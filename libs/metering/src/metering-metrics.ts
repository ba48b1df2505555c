import { statSync } from 'node:fs';
import { Metrics } from '@app/observability';
import { UsageJournal } from './journal/usage-journal';

/**
 * llm_metering_buffer_depth (events held in memory, not yet written) and
 * llm_metering_journal_bytes (closed journal segments waiting for Postgres; 0 when drained),
 * read before each scrape.
 */
export function meteringGauges(
  metrics: Metrics,
  buffer: readonly unknown[],
  closedInMemory: ReadonlyMap<string, readonly unknown[]>,
  journal: UsageJournal,
): void {
  let depth = buffer.length;
  for (const events of closedInMemory.values()) depth += events.length;
  metrics.meteringBufferDepth(depth);
  let bytes = 0;
  for (const segment of journal.pending()) {
    try {
      bytes += statSync(segment.path).size;
    } catch {
      // written and removed meanwhile
    }
  }
  metrics.meteringJournalBytes(bytes);
}
