/**
 * A small LRU of prompt token ids, keyed by what produced them (the chat messages, or the
 * prompt text). Rendering the chat template and running the tokenizer cost ~15 % of the
 * gateway's CPU per short request; identical prompts (system prompts with the same question,
 * retries, probes, benchmarks) skip both. Bounded in entries and in key length, so a flood of
 * long distinct prompts cannot grow it. Callers get their own copy of the ids.
 */
export class PromptCache {
  private readonly map = new Map<string, readonly number[]>();
  hits = 0;
  misses = 0;

  /**
   * @param maxEntries 0 disables the cache
   * @param maxKeyLength longer keys (long prompts) are never cached: their render+encode cost
   *   is small next to their prefill, and they would hold the most memory
   */
  constructor(
    readonly maxEntries = 256,
    readonly maxKeyLength = 4096,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** The cached ids for `key`, or `compute()`'s (stored when cacheable). Errors are never cached. */
  get(key: string, compute: () => number[]): number[] {
    if (this.maxEntries <= 0 || key.length > this.maxKeyLength) return compute();
    const found = this.map.get(key);
    if (found) {
      this.hits++;
      this.map.delete(key); // most recently used goes last
      this.map.set(key, found);
      return found.slice();
    }
    this.misses++;
    const ids = compute();
    this.map.set(key, ids.slice());
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    return ids;
  }
}
