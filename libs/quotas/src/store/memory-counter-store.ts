import { CounterAdjustment, CounterSpec, CounterStore, ReserveOutcome, SlotSpec } from './counter-store';

interface Entry {
  value: number;
  expiresAt: number;
}

/** Counters in this process (one replica). JS runs each call to completion, so it is atomic. */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  private readonly counters = new Map<string, Entry>();
  private readonly slots = new Map<string, Map<string, number>>();
  private sweepAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private read(key: string, now: number): Entry | undefined {
    const entry = this.counters.get(key);
    if (entry && entry.expiresAt <= now) {
      this.counters.delete(key);
      return undefined;
    }
    return entry;
  }

  private liveSlots(key: string, now: number): Map<string, number> {
    let set = this.slots.get(key);
    if (!set) {
      set = new Map();
      this.slots.set(key, set);
    }
    for (const [member, deadline] of set) if (deadline <= now) set.delete(member);
    return set;
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 60_000;
    for (const [key, entry] of this.counters) if (entry.expiresAt <= now) this.counters.delete(key);
    for (const key of [...this.slots.keys()]) if (this.liveSlots(key, now).size === 0) this.slots.delete(key);
  }

  async reserve(counters: CounterSpec[], slots: SlotSpec[], nowMs: number): Promise<ReserveOutcome> {
    this.sweep(nowMs);
    const values: number[] = [];
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i];
      const entry = this.read(c.key, nowMs);
      if (!entry && c.seeded) return { ok: false, needsSeed: i };
      const current = entry?.value ?? 0;
      if (c.limit !== null && current + c.amount > c.limit) return { ok: false, index: i, current };
      values.push(current + c.amount);
    }
    for (let j = 0; j < slots.length; j++) {
      const set = this.liveSlots(slots[j].key, nowMs);
      if (set.size >= slots[j].limit) return { ok: false, index: counters.length + j, current: set.size };
    }
    for (const c of counters) {
      const entry = this.read(c.key, nowMs);
      if (entry) entry.value += c.amount;
      else this.counters.set(c.key, { value: c.amount, expiresAt: nowMs + c.ttlMs });
    }
    for (const s of slots) this.liveSlots(s.key, nowMs).set(s.member, nowMs + s.leaseMs);
    return { ok: true, values };
  }

  async seed(key: string, value: number, ttlMs: number): Promise<void> {
    const now = this.now();
    if (!this.read(key, now)) this.counters.set(key, { value, expiresAt: now + ttlMs });
  }

  async settle(adjustments: CounterAdjustment[], slots: { key: string; member: string }[]): Promise<void> {
    const now = this.now();
    for (const a of adjustments) {
      const entry = this.read(a.key, now);
      if (entry) entry.value += a.delta;
    }
    for (const s of slots) this.slots.get(s.key)?.delete(s.member);
  }

  async get(key: string): Promise<number | null> {
    return this.read(key, this.now())?.value ?? null;
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const now = this.now();
    const entry = this.read(key, now);
    if (entry) {
      entry.value += 1;
      return { count: entry.value, ttlMs: entry.expiresAt - now };
    }
    this.counters.set(key, { value: 1, expiresAt: now + windowMs });
    return { count: 1, ttlMs: windowMs };
  }
}
