export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit rejects before one probe is let through (ms). */
  cooldownMs: number;
  now?: () => number;
}

/**
 * closed → (N consecutive failures) → open → (cooldown) → half-open: one probe;
 * success closes it, failure opens it again for another cooldown.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: CircuitState = 'closed';
  private readonly now: () => number;

  constructor(private readonly options: CircuitOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) {
      this.current = 'half-open';
      this.probing = false;
    }
    return this.current;
  }

  /** May a request (or a probe, when half-open) go to this upstream now? */
  canPass(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'half-open' && !this.probing) return true;
    return false;
  }

  /** Marks the start of a request; in half-open it takes the single probe slot. */
  begin(): void {
    if (this.state === 'half-open') this.probing = true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.current = 'closed';
  }

  failure(): void {
    this.probing = false;
    this.failures++;
    if (this.current === 'half-open' || this.failures >= this.options.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }
}
