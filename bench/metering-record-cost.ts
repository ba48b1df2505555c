import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/common';
import { createDataSource } from '@app/database';
import { MeteringService } from '@app/metering';

/**
 * What metering costs the gateway process per request, measured as CPU time (so other load on
 * a shared machine hardly matters): `count` events through the real MeteringService (validate,
 * journal write(2), buffer) and its batched writer into the real (already migrated) database,
 * then a final flush. With one pooled connection, the Postgres backend serving it is known, and
 * its CPU time is read from /proc too when Postgres runs on this machine.
 */

/** CPU ms (user + system) a process has used, or null when it is not on this machine. */
export function processCpuMs(pid: number): number | null {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return null;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in 100 Hz ticks
}

export async function meteringCpuPerEvent(databaseUrl: string, count: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'metering-cost-'));
  const ds = createDataSource({ url: databaseUrl, poolSize: 1 });
  await ds.initialize();
  const [{ pid: backend }] = (await ds.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
  const service = new MeteringService(ds, loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl }));
  try {
    service.start();
    const tenantId = randomUUID();
    const apiKeyId = randomUUID();
    const pg0 = processCpuMs(backend);
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
    const pg1 = processCpuMs(backend);
    const stats = service.getStats();
    if (stats.written !== count) throw new Error(`wrote ${stats.written} of ${count} events`);
    return {
      events: count,
      cpu_us_per_event: +((cpu.user + cpu.system) / count).toFixed(2),
      postgres_cpu_us_per_event:
        pg0 === null || pg1 === null ? null : +(((pg1 - pg0) * 1000) / count).toFixed(2),
      wall_ms: Math.round(performance.now() - t0),
    };
  } finally {
    await service.onModuleDestroy();
    await ds.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
