const REPLACEMENT = '\uFFFD';
/** A UTF-8 character is at most 4 bytes: after that many tokens a trailing U+FFFD is real. */
const MAX_PENDING_TOKENS = 4;

/**
 * Turns a growing list of token ids into text deltas that never split a UTF-8 character:
 * while the decoded tail ends in U+FFFD (an incomplete multi-byte sequence) the text is held.
 */
export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** Adds tokens; returns the newly completed text ('' when still buffering). */
  push(tokens: readonly number[]): string {
    let out = '';
    for (const t of tokens) {
      this.ids.push(t);
      out += this.step(false);
    }
    return out;
  }

  /** Flushes what is held (an invalid trailing sequence stays as U+FFFD). */
  flush(): string {
    return this.step(true);
  }

  private step(force: boolean): string {
    if (this.ids.length === this.readOffset) return '';
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    const pending = this.ids.length - this.readOffset;
    if (!force && full.endsWith(REPLACEMENT) && pending < MAX_PENDING_TOKENS) return '';
    if (full.length <= prefix.length && !force) {
      // Nothing visible yet (e.g. a skipped special token): advance anyway.
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return '';
    }
    const delta = full.slice(prefix.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return delta;
  }
}
