export interface StopResult {
  /** Text safe to emit now. */
  text: string;
  /** True when a stop string was found: generation must end, nothing after it is emitted. */
  stopped: boolean;
}

/**
 * Finds stop strings in streamed text, across token boundaries. Text that could still be the
 * start of a stop string is held back until it is decided; the stop string itself is never emitted.
 */
export class StopMatcher {
  private held = '';
  private done = false;
  private readonly maxLen: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  push(delta: string): StopResult {
    if (this.done) return { text: '', stopped: true };
    if (this.stops.length === 0) return { text: delta, stopped: false };
    const buf = this.held + delta;
    let cut = -1;
    for (const s of this.stops) {
      const at = buf.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.done = true;
      this.held = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** At the end of generation (no stop string): the held text is emitted. */
  flush(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }

  /** Length of the longest suffix of buf that is a proper prefix of a stop string. */
  private partialSuffix(buf: string): number {
    const limit = Math.min(buf.length, this.maxLen - 1);
    for (let len = limit; len > 0; len--) {
      const tail = buf.slice(buf.length - len);
      if (this.stops.some((s) => s.startsWith(tail))) return len;
    }
    return 0;
  }
}
