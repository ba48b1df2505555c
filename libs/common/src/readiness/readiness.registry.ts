import { Injectable } from '@nestjs/common';

export interface ReadinessResult {
  ok: boolean;
  /** Short state, e.g. "up", "loading", "not configured". */
  status: string;
  detail?: string;
}

export interface ReadinessContributor {
  /** Name shown in GET /ready, e.g. "database", "engine". */
  readonly name: string;
  check(): Promise<ReadinessResult>;
}

/** Components the platform expects; shown as "not configured" until one registers. */
const EXPECTED = ['database', 'engine'];
const CHECK_TIMEOUT_MS = 2000;

/**
 * Libraries register what must be up for the service to take traffic (database, engine, ...).
 * GET /ready runs every check; it is ready when all registered checks are ok.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly contributors = new Map<string, ReadinessContributor>();

  register(contributor: ReadinessContributor): void {
    this.contributors.set(contributor.name, contributor);
  }

  unregister(name: string): void {
    this.contributors.delete(name);
  }

  async check(): Promise<{ ready: boolean; checks: Record<string, ReadinessResult> }> {
    const checks: Record<string, ReadinessResult> = {};
    for (const name of EXPECTED) {
      if (!this.contributors.has(name)) checks[name] = { ok: true, status: 'not configured' };
    }
    await Promise.all(
      [...this.contributors.values()].map(async (c) => {
        checks[c.name] = await withTimeout(c);
      }),
    );
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}

async function withTimeout(c: ReadinessContributor): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      c.check(),
      new Promise<ReadinessResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, status: 'timeout' }), CHECK_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    return { ok: false, status: 'error', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
