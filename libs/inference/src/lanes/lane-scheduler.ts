import { Lane, LANES } from '@app/common';
import { LaneRejection, QueueAbortedError } from './lane-rejection';

export interface LaneSchedulerOptions {
  /** Engine slots (its maxNumSeqs): never more requests in flight than this. */
  capacity: number;
  /** Most requests waiting per lane; past it the scheduler sheds load. */
  maxQueueDepth: number;
  /** Longest wait per lane before a queued request is shed (ms). */
  maxWaitMs: Record<Lane, number>;
  /** Each full period waited promotes a request's lane by one step (aging; batch never starves). */
  agingMs: number;
  /**
   * The engine makes room for a higher-priority sequence by preempting a running lower-priority one
   * (the native engine). Then `capacity` bounds each lane together with the lanes above it, not all
   * lanes together: a standard request never waits for batch work to finish, the engine evicts a
   * batch sequence for it (recompute later). Off: `capacity` bounds everything (remote engines).
   */
  preemptsLowerLanes?: boolean;
  now?: () => number;
}

export interface AdmissionRequest {
  tenantId: string;
  lane: Lane;
  /** Estimated tokens (prompt + max_tokens) used for fair sharing until the actual is known. */
  cost: number;
  signal?: AbortSignal;
  /** Wait at most this long (never longer than the lane's own limit), e.g. when a fallback model is next. */
  maxWaitMs?: number;
}

export interface Admission {
  lane: Lane;
  /** Engine priority (lower runs first): the lane's rank. */
  priority: number;
  waitedMs: number;
  /** Frees the engine slot; actualCost corrects the tenant's share. Idempotent. */
  release(actualCost?: number): void;
}

export interface LaneStats {
  inFlight: number;
  capacity: number;
  queued: Record<Lane, number>;
  tenants: Record<Lane, number>;
}

export const LANE_RANK: Record<Lane, number> = { interactive: 0, standard: 1, batch: 2 };

interface Waiter {
  tenant: TenantQueue;
  lane: Lane;
  cost: number;
  enqueuedAt: number;
  resolve(a: Admission): void;
  reject(e: Error): void;
  cleanup(): void;
}

interface TenantQueue {
  id: string;
  /** Virtual time: tokens served, never behind the lane clock while active. */
  vtime: number;
  items: Waiter[];
  inFlight: number;
}

class LaneQueue {
  clock = 0;
  size = 0;
  readonly tenants = new Map<string, TenantQueue>();

  tenant(id: string): TenantQueue {
    let t = this.tenants.get(id);
    if (!t) {
      t = { id, vtime: this.clock, items: [], inFlight: 0 };
      this.tenants.set(id, t);
    } else if (t.items.length === 0 && t.vtime < this.clock) {
      // Idle tenants do not bank credit: they restart at the lane's clock.
      t.vtime = this.clock;
    }
    return t;
  }

  oldest(): number {
    let min = Infinity;
    for (const t of this.tenants.values()) if (t.items.length > 0) min = Math.min(min, t.items[0].enqueuedAt);
    return min;
  }

  /** The backlogged tenant with the least virtual time (ties: the oldest head). */
  nextTenant(): TenantQueue | undefined {
    let best: TenantQueue | undefined;
    for (const t of this.tenants.values()) {
      if (t.items.length === 0) continue;
      if (
        !best ||
        t.vtime < best.vtime ||
        (t.vtime === best.vtime && t.items[0].enqueuedAt < best.items[0].enqueuedAt)
      ) {
        best = t;
      }
    }
    return best;
  }

  activeTenants(): number {
    let n = 0;
    for (const t of this.tenants.values()) if (t.items.length > 0) n++;
    return n;
  }

  forget(t: TenantQueue): void {
    if (t.items.length === 0 && t.inFlight === 0 && t.vtime <= this.clock) this.tenants.delete(t.id);
  }
}

/**
 * Admission control in front of the engine: strict priority between lanes (with aging),
 * weighted fair sharing by tokens between tenants inside a lane (virtual time), at most
 * `capacity` requests in the engine, bounded queues that shed load with 429/503.
 */
export class LaneScheduler {
  private readonly lanes: Record<Lane, LaneQueue> = {
    interactive: new LaneQueue(),
    standard: new LaneQueue(),
    batch: new LaneQueue(),
  };
  private inFlight = 0;
  /** In flight per lane rank (interactive, standard, batch). */
  private readonly inFlightByRank = [0, 0, 0];
  private readonly now: () => number;
  /** Completions per second (EWMA), for Retry-After. */
  private rate = 0;
  private lastRelease = 0;

  constructor(private readonly options: LaneSchedulerOptions) {
    if (!(options.capacity >= 1)) throw new RangeError('LaneScheduler capacity must be >= 1');
    this.now = options.now ?? Date.now;
  }

  get capacity(): number {
    return this.options.capacity;
  }

  stats(): LaneStats {
    const queued = {} as Record<Lane, number>;
    const tenants = {} as Record<Lane, number>;
    for (const l of LANES) {
      queued[l] = this.lanes[l].size;
      tenants[l] = this.lanes[l].activeTenants();
    }
    return { inFlight: this.inFlight, capacity: this.options.capacity, queued, tenants };
  }

  /** Resolves when the request may enter the engine; rejects with LaneRejection or QueueAbortedError. */
  acquire(req: AdmissionRequest): Promise<Admission> {
    if (req.signal?.aborted) return Promise.reject(new QueueAbortedError());
    const lane = this.lanes[req.lane];
    const tenant = lane.tenant(req.tenantId);
    if (this.hasRoom(req.lane) && this.totalQueued() === 0) {
      return Promise.resolve(this.admit(req.lane, tenant, req.cost, this.now()));
    }
    if (lane.size >= this.options.maxQueueDepth) {
      try {
        this.makeRoom(req.lane, tenant);
      } catch (err) {
        lane.forget(tenant);
        return Promise.reject(err as Error);
      }
    }
    return new Promise<Admission>((resolve, reject) => {
      const waiter: Waiter = {
        tenant,
        lane: req.lane,
        cost: req.cost,
        enqueuedAt: this.now(),
        resolve,
        reject,
        cleanup: () => undefined,
      };
      const onAbort = () => {
        if (this.remove(waiter)) reject(new QueueAbortedError());
      };
      const timer = setTimeout(
        () => {
          if (!this.remove(waiter)) return;
          const over = this.overShare(req.lane, tenant);
          reject(
            new LaneRejection(
              over ? 429 : 503,
              over ? 'tenant_over_share' : 'queue_timeout',
              req.lane,
              this.retryAfter(req.lane),
            ),
          );
        },
        Math.min(this.options.maxWaitMs[req.lane], req.maxWaitMs ?? Infinity),
      );
      timer.unref?.();
      req.signal?.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };
      tenant.items.push(waiter);
      lane.size++;
      this.dispatch();
    });
  }

  /** Whether a request of `lane` may enter the engine now. */
  private hasRoom(lane: Lane): boolean {
    if (!this.options.preemptsLowerLanes) return this.inFlight < this.options.capacity;
    let atOrAbove = 0;
    for (let r = 0; r <= LANE_RANK[lane]; r++) atOrAbove += this.inFlightByRank[r];
    return atOrAbove < this.options.capacity;
  }

  private totalQueued(): number {
    return this.lanes.interactive.size + this.lanes.standard.size + this.lanes.batch.size;
  }

  /** A full lane: shed the newest request of the tenant most over its share, or this one. */
  private makeRoom(laneName: Lane, newcomer: TenantQueue): void {
    const lane = this.lanes[laneName];
    const share = Math.max(
      1,
      Math.floor(
        this.options.maxQueueDepth / Math.max(1, lane.activeTenants() + (newcomer.items.length ? 0 : 1)),
      ),
    );
    let hog: TenantQueue | undefined;
    for (const t of lane.tenants.values()) if (!hog || t.items.length > hog.items.length) hog = t;
    const retry = this.retryAfter(laneName);
    if (newcomer.items.length < share && hog && hog !== newcomer && hog.items.length > share) {
      const victim = hog.items[hog.items.length - 1];
      this.remove(victim);
      victim.reject(new LaneRejection(429, 'tenant_over_share', laneName, retry));
      return;
    }
    const over = newcomer.items.length >= share && lane.activeTenants() > 1;
    throw new LaneRejection(over ? 429 : 503, over ? 'tenant_over_share' : 'overloaded', laneName, retry);
  }

  private overShare(laneName: Lane, t: TenantQueue): boolean {
    const lane = this.lanes[laneName];
    const active = Math.max(1, lane.activeTenants());
    return active > 1 && t.items.length + 1 > this.options.maxQueueDepth / active;
  }

  private remove(w: Waiter): boolean {
    const idx = w.tenant.items.indexOf(w);
    if (idx < 0) return false;
    w.tenant.items.splice(idx, 1);
    const lane = this.lanes[w.lane];
    lane.size--;
    w.cleanup();
    lane.forget(w.tenant);
    return true;
  }

  private retryAfter(laneName: Lane): number {
    const ahead =
      this.lanes.interactive.size +
      (laneName === 'interactive' ? 0 : this.lanes.standard.size) +
      (laneName === 'batch' ? this.lanes.batch.size : 0);
    const rate = Math.max(this.rate, 0.5);
    return Math.min(60, Math.max(1, Math.ceil((ahead + 1) / rate)));
  }

  /**
   * The best lane with a waiting request and room for it: by rank, promoted one step per
   * `agingMs` waited (ties: the higher rank). A scan of three lanes, on every release.
   */
  private pickLane(now: number): { name: Lane; lane: LaneQueue } | undefined {
    let best: { name: Lane; lane: LaneQueue; eff: number } | undefined;
    for (const name of LANES) {
      const lane = this.lanes[name];
      if (lane.size === 0 || !this.hasRoom(name)) continue;
      const eff = LANE_RANK[name] - Math.floor((now - lane.oldest()) / this.options.agingMs);
      if (!best || eff < best.eff || (eff === best.eff && LANE_RANK[name] < LANE_RANK[best.name]))
        best = { name, lane, eff };
    }
    return best;
  }

  /** Admits waiting requests while a lane with room has one. */
  private dispatch(): void {
    const now = this.now();
    for (;;) {
      const next = this.pickLane(now);
      if (!next) return;
      const tenant = next.lane.nextTenant();
      if (!tenant) return;
      const w = tenant.items.shift() as Waiter;
      next.lane.size--;
      w.cleanup();
      w.resolve(this.admit(w.lane, tenant, w.cost, w.enqueuedAt));
    }
  }

  private admit(laneName: Lane, tenant: TenantQueue, cost: number, enqueuedAt: number): Admission {
    const lane = this.lanes[laneName];
    lane.clock = Math.max(lane.clock, tenant.vtime);
    tenant.vtime += cost;
    tenant.inFlight++;
    this.inFlight++;
    this.inFlightByRank[LANE_RANK[laneName]]++;
    let released = false;
    return {
      lane: laneName,
      priority: LANE_RANK[laneName],
      waitedMs: this.now() - enqueuedAt,
      release: (actualCost?: number) => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.inFlightByRank[LANE_RANK[laneName]]--;
        tenant.inFlight--;
        if (actualCost !== undefined && Number.isFinite(actualCost)) tenant.vtime += actualCost - cost;
        this.noteRelease();
        lane.forget(tenant);
        this.dispatch();
      },
    };
  }

  private noteRelease(): void {
    const now = this.now();
    const dt = Math.max(1, now - (this.lastRelease || now - 1000)) / 1000;
    this.lastRelease = now;
    this.rate = this.rate === 0 ? 1 / dt : 0.8 * this.rate + 0.2 * (1 / dt);
  }
}
