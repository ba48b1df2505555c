import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/common';
import { createDataSource } from '@app/database';
import { MeteringService } from '@app/metering';

/**
 * What metering costs the gateway process per request, measured as CPU time (so other load on
 * a shared machine hardly matters): `count` events through the real MeteringService (validate,
 * journal write(2), buffer) and its batched writer into the real (already migrated) database,
 * then a final flush. Postgres' own CPU is not included (it runs in its own processes).
 */
export async function meteringCpuPerEvent(databaseUrl: string, count: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'metering-cost-'));
  const ds = createDataSource({ url: databaseUrl });
  await ds.initialize();
  const service = new MeteringService(ds, loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }));
  try {
    service.start();
    const tenantId = randomUUID();
    const apiKeyId = randomUUID();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const now = new Date();
      service.record({
        requestId: `cost-${i}-${randomUUID()}`,
        tenantId,
        apiKeyId,
        model: 'tiny-llama',
        lane: 'standard',
        promptTokens: 5,
        cachedTokens: 0,
        completionTokens: 1,
        status: 'completed',
        ttftMs: 2,
        durationMs: 3,
        startedAt: now,
        endedAt: now,
      });
      // Let the 1 s flush timer and batch writes run as they would between requests.
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await service.flush();
    const cpu = process.cpuUsage(cpu0);
    const stats = service.getStats();
    if (stats.written !== count) throw new Error(`wrote ${stats.written} of ${count} events`);
    return {
      events: count,
      cpu_us_per_event: +((cpu.user + cpu.system) / count).toFixed(2),
      wall_ms: Math.round(performance.now() - t0),
    };
  } finally {
    await service.onModuleDestroy();
    await ds.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
