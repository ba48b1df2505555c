import Redis from 'ioredis';
import { CounterAdjustment, CounterSpec, CounterStore, ReserveOutcome, SlotSpec } from './counter-store';
import { HIT_SCRIPT, RESERVE_SCRIPT, SETTLE_SCRIPT } from './redis-scripts';

type Reply = (number | string)[];

interface ScriptedRedis extends Redis {
  llmqReserve(...args: (string | number)[]): Promise<Reply>;
  llmqSettle(...args: (string | number)[]): Promise<number>;
  llmqHit(key: string, windowMs: number): Promise<[number, number]>;
}

/** Counters shared by every replica: one atomic Lua script per reserve/settle/hit. */
export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis' as const;
  private readonly redis: ScriptedRedis;

  constructor(redis: Redis) {
    redis.defineCommand('llmqReserve', { lua: RESERVE_SCRIPT });
    redis.defineCommand('llmqSettle', { lua: SETTLE_SCRIPT });
    redis.defineCommand('llmqHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  async reserve(counters: CounterSpec[], slots: SlotSpec[], nowMs: number): Promise<ReserveOutcome> {
    const keys = [...counters.map((c) => c.key), ...slots.map((s) => s.key)];
    const args: (string | number)[] = [counters.length, slots.length, nowMs];
    for (const c of counters) args.push(c.limit ?? -1, c.amount, c.ttlMs, c.seeded ? 1 : 0);
    for (const s of slots) args.push(s.limit, s.member, s.leaseMs);
    const reply = await this.redis.llmqReserve(keys.length, ...keys, ...args);
    const code = Number(reply[0]);
    if (code === 1) return { ok: true, values: reply.slice(1).map(Number) };
    if (code === -1) return { ok: false, needsSeed: Number(reply[1]) };
    return { ok: false, index: Number(reply[1]), current: Number(reply[2]) };
  }

  async seed(key: string, value: number, ttlMs: number): Promise<void> {
    await this.redis.set(key, String(Math.trunc(value)), 'PX', ttlMs, 'NX');
  }

  async settle(adjustments: CounterAdjustment[], slots: { key: string; member: string }[]): Promise<void> {
    if (adjustments.length === 0 && slots.length === 0) return;
    const keys = [...adjustments.map((a) => a.key), ...slots.map((s) => s.key)];
    const args = [
      adjustments.length,
      ...adjustments.map((a) => Math.trunc(a.delta)),
      ...slots.map((s) => s.member),
    ];
    await this.redis.llmqSettle(keys.length, ...keys, ...args);
  }

  async get(key: string): Promise<number | null> {
    const v = await this.redis.get(key);
    return v === null ? null : Number(v);
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    const [count, ttlMs] = await this.redis.llmqHit(key, windowMs);
    return { count: Number(count), ttlMs: Number(ttlMs) };
  }
}
