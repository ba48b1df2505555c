import { CircuitBreaker, CircuitState } from './circuit-breaker';

export interface Upstream {
  url: string;
  apiKey?: string;
  outstanding: number;
  healthy: boolean;
  breaker: CircuitBreaker;
  /** The first model id the upstream lists (from the health check). */
  model?: string;
}

export interface UpstreamPoolOptions {
  urls: string[];
  /** One key for every upstream, or one per upstream (same order as urls). */
  apiKey?: string | string[];
  healthIntervalMs: number;
  failureThreshold: number;
  cooldownMs: number;
  fetchTimeoutMs?: number;
}

export interface UpstreamStatus {
  url: string;
  outstanding: number;
  healthy: boolean;
  circuit: CircuitState;
}

/**
 * OpenAI-compatible upstreams: periodic health checks (GET /v1/models), least-outstanding-requests
 * choice among the healthy ones whose circuit lets requests through.
 */
export class UpstreamPool {
  readonly upstreams: Upstream[];
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: UpstreamPoolOptions) {
    if (options.urls.length === 0) throw new Error('the remote engine needs at least one upstream URL');
    const keys = options.apiKey;
    this.upstreams = options.urls.map((u, i) => ({
      url: u.replace(/\/+$/, ''),
      apiKey: Array.isArray(keys) ? keys[i] : keys,
      outstanding: 0,
      healthy: true,
      breaker: new CircuitBreaker({
        failureThreshold: options.failureThreshold,
        cooldownMs: options.cooldownMs,
      }),
    }));
  }

  headers(u: Upstream): Record<string, string> {
    return u.apiKey ? { authorization: `Bearer ${u.apiKey}` } : {};
  }

  start(): void {
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.options.healthIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The available upstream with the fewest requests in flight, not in `exclude`. */
  pick(exclude: ReadonlySet<Upstream> = new Set()): Upstream | undefined {
    let best: Upstream | undefined;
    for (const u of this.upstreams) {
      if (exclude.has(u) || !u.healthy || !u.breaker.canPass()) continue;
      if (!best || u.outstanding < best.outstanding) best = u;
    }
    return best;
  }

  status(): UpstreamStatus[] {
    return this.upstreams.map((u) => ({
      url: u.url,
      outstanding: u.outstanding,
      healthy: u.healthy,
      circuit: u.breaker.state,
    }));
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.upstreams.map((u) => this.check(u)));
  }

  /** One health check; a failing upstream is taken out, a recovered one (probe) is let back in. */
  async check(u: Upstream): Promise<void> {
    try {
      const res = await fetch(`${u.url}/v1/models`, {
        headers: this.headers(u),
        signal: AbortSignal.timeout(this.options.fetchTimeoutMs ?? 2000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { data?: { id?: string }[] };
      u.model = body.data?.[0]?.id ?? u.model;
      u.healthy = true;
      if (u.breaker.state !== 'closed') u.breaker.success();
    } catch {
      u.healthy = false;
      u.breaker.failure();
    }
  }
}
