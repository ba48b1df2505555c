import { Logger } from '@nestjs/common';
import { CounterAdjustment, CounterStore } from './store/counter-store';

/** A reservation of tokens and a concurrency slot, settled by exactly one commit or release. */
export interface QuotaReservation {
  /** Charges the actual total tokens (prompt + completion) and frees the slot. Idempotent. */
  commit(actualTotalTokens: number): Promise<void>;
  /** Refunds everything reserved and frees the slot. Idempotent. */
  release(): Promise<void>;
  /** x-ratelimit-*-tokens headers (and the requests trio when known) for the response. */
  headers(): Record<string, string>;
}

export interface ReservedCounter {
  key: string;
  amount: number;
}

const logger = new Logger('QuotaReservation');

export class StoreReservation implements QuotaReservation {
  private settled: Promise<void> | null = null;

  constructor(
    private readonly store: CounterStore,
    readonly requestId: string,
    readonly reservedTokens: number,
    private readonly counters: ReservedCounter[],
    private readonly slots: { key: string; member: string }[],
    private readonly responseHeaders: Record<string, string>,
    private readonly onSettled?: (charged: number) => void,
  ) {}

  get isSettled(): boolean {
    return this.settled !== null;
  }

  commit(actualTotalTokens: number): Promise<void> {
    const n = Number(actualTotalTokens);
    const actual = Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
    return this.settle(actual);
  }

  release(): Promise<void> {
    return this.settle(0);
  }

  headers(): Record<string, string> {
    return { ...this.responseHeaders };
  }

  private settle(charged: number): Promise<void> {
    if (this.settled) return this.settled;
    const adjustments: CounterAdjustment[] = this.counters
      .map((c) => ({ key: c.key, delta: charged - c.amount }))
      .filter((a) => a.delta !== 0);
    this.settled = this.store
      .settle(adjustments, this.slots)
      .then(() => this.onSettled?.(charged))
      .catch((err: Error) => {
        // Counters expire (minute/day/month) and slots have leases, so a lost settle heals itself.
        logger.error(`quota settle failed for ${this.requestId}: ${err.message}`);
      });
    return this.settled;
  }
}
