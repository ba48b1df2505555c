/**
 * Where quota counters live: in memory (one replica) or Redis (shared by replicas, atomic
 * Lua scripts). A reservation checks every counter and slot and applies all of them, or none,
 * in one atomic step, so concurrent requests can never overspend a limit.
 */
export interface CounterSpec {
  key: string;
  /** Largest allowed value after adding `amount`; null = count only. */
  limit: number | null;
  amount: number;
  /** Expiry of the counter when it is created. */
  ttlMs: number;
  /** Counters seeded from Postgres: when missing, reserve() answers needsSeed instead of starting at 0. */
  seeded: boolean;
}

/** A concurrency slot: a member in a set with a lease (slots of crashed replicas expire). */
export interface SlotSpec {
  key: string;
  limit: number;
  member: string;
  leaseMs: number;
}

export type ReserveOutcome =
  | { ok: true; values: number[] }
  /** index: into counters, then slots (counters.length + j). current: value before this request. */
  | { ok: false; index: number; current: number }
  | { ok: false; needsSeed: number };

export interface CounterAdjustment {
  key: string;
  delta: number;
}

export interface CounterStore {
  readonly kind: 'memory' | 'redis';
  reserve(counters: CounterSpec[], slots: SlotSpec[], nowMs: number): Promise<ReserveOutcome>;
  /** Sets a missing counter to `value` (never adds; a concurrent seed or reservation wins). */
  seed(key: string, value: number, ttlMs: number): Promise<void>;
  /** Adds deltas to counters that still exist and frees slots. */
  settle(adjustments: CounterAdjustment[], slots: { key: string; member: string }[]): Promise<void>;
  /** Current value of a counter (null when missing). */
  get(key: string): Promise<number | null>;
  /** Fixed-window hit counter for the request rate (throttler storage). */
  hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

export const COUNTER_STORE = Symbol('COUNTER_STORE');
export const KEY_PREFIX = 'llmq:';
