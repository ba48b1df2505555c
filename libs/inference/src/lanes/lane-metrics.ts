import { LANES } from '@app/common';
import { LaneShedReason, Metrics, SPAN } from '@app/observability';
import { LaneRejection } from './lane-rejection';
import { LaneScheduler } from './lane-scheduler';

/** LaneRejection reasons → llm_lane_shed_total's `reason` (docs/metrics.md). */
function shedReason(err: LaneRejection): LaneShedReason {
  return err.reason === 'queue_timeout' ? 'queue_timeout' : 'queue_full';
}

/** The schedulers observed into each Metrics instance (one per served model). */
const observed = new WeakMap<Metrics, LaneScheduler[]>();

/** The schedulers of `metrics`, whose queues its llm_lane_queue_depth gauge sums (one gauge per lane for all models). */
function schedulersOf(metrics: Metrics): LaneScheduler[] {
  let all = observed.get(metrics);
  if (!all) {
    const list: LaneScheduler[] = [];
    observed.set(metrics, (all = list));
    metrics.onRefresh(() => {
      for (const lane of LANES)
        metrics.laneQueueDepth(
          lane,
          list.reduce((sum, s) => sum + s.stats().queued[lane], 0),
        );
    });
  }
  return all;
}

/** Stops counting a retired model's queues in llm_lane_queue_depth. */
export function unobserveLanes(scheduler: LaneScheduler, metrics: Metrics | undefined): void {
  const list = metrics ? observed.get(metrics) : undefined;
  const i = list?.indexOf(scheduler) ?? -1;
  if (i >= 0) list!.splice(i, 1);
}

/**
 * Feeds the lane series (llm_lane_*) from a LaneScheduler: every acquire() is an offered request,
 * admitted (wait time) or shed (reason); queue depths are read from stats() before each scrape.
 */
export function observeLanes(scheduler: LaneScheduler, metrics: Metrics | undefined): LaneScheduler {
  if (!metrics) return scheduler;
  schedulersOf(metrics).push(scheduler);
  const acquire = scheduler.acquire.bind(scheduler);
  scheduler.acquire = (req) => {
    metrics.laneOffered(req.lane);
    const admission = acquire(req);
    admission.then(
      (a) => {
        metrics.laneAdmitted(req.lane, a.waitedMs);
        const now = Date.now();
        metrics.spanDone(SPAN.laneWait, now - a.waitedMs, now, { 'llm.lane': req.lane });
      },
      (err: unknown) => {
        if (err instanceof LaneRejection) metrics.laneShedded(req.lane, shedReason(err));
      },
    );
    return admission;
  };
  return scheduler;
}
