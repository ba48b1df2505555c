import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/common';
import { Metrics } from '@app/observability';
import { observeLanes } from './lane-metrics';
import { LaneScheduler } from './lane-scheduler';

function int(config: AppConfig, name: string, fallback: number): number {
  const v = config.raw[name];
  return typeof v === 'number' ? v : fallback;
}

/**
 * A LaneScheduler for an engine of `capacity` sequences, with the LANE_* settings. `native`: the
 * engine preempts lower lanes' sequences for higher ones (so lanes above batch never wait for it).
 */
export function laneSchedulerFor(
  config: AppConfig,
  capacity: number,
  native: boolean,
  metrics?: Metrics,
): LaneScheduler {
  return observeLanes(
    new LaneScheduler({
      capacity,
      maxQueueDepth: int(config, 'LANE_QUEUE_DEPTH', 256),
      maxWaitMs: {
        interactive: int(config, 'LANE_MAX_WAIT_MS', 30_000),
        standard: int(config, 'LANE_MAX_WAIT_MS', 30_000),
        batch: int(config, 'LANE_MAX_WAIT_MS', 30_000) * 4,
      },
      agingMs: int(config, 'LANE_AGING_MS', 10_000),
      preemptsLowerLanes: native,
    }),
    metrics,
  );
}

/** The primary model's LaneScheduler, sized to its engine (MAX_NUM_SEQS). */
export const laneSchedulerProvider: Provider = {
  provide: LaneScheduler,
  inject: [APP_CONFIG, { token: Metrics, optional: true }],
  useFactory: (config: AppConfig, metrics?: Metrics) =>
    laneSchedulerFor(config, config.maxNumSeqs, config.raw.ENGINE_PROVIDER !== 'remote', metrics),
};
