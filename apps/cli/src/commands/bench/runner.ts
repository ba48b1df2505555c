/**
 * Drives a load test: at most `concurrency` requests in flight, released at Poisson arrival times
 * when a rate is given, and bounded by request count and wall time (in-flight requests are
 * aborted when --max-seconds passes; the rest are never sent).
 */
import { prng } from './prng';
import { RequestRecord, RequestSettings, timedRequest } from './request';
import { WorkItem } from './workload';

export interface RunControl {
  concurrency: number;
  rate: number;
  maxSeconds: number;
  seed: number;
  onDone?: (rec: RequestRecord, done: number) => void;
}

export interface RunResult {
  records: RequestRecord[];
  durationMs: number;
  notSent: number;
  timedOut: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function runLoad(
  settings: RequestSettings,
  items: WorkItem[],
  control: RunControl,
): Promise<RunResult> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), control.maxSeconds * 1000);
  const rand = prng(control.seed + 7);
  const records: RequestRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  let nextArrival = 0;
  let sent = 0;
  try {
    for (let i = 0; i < items.length && !abort.signal.aborted; i++) {
      if (Number.isFinite(control.rate)) {
        nextArrival += (-Math.log(1 - rand()) / control.rate) * 1000;
        await sleep(start + nextArrival - performance.now(), abort.signal);
      }
      while (inFlight.size >= control.concurrency && !abort.signal.aborted) await Promise.race(inFlight);
      if (abort.signal.aborted) break;
      sent++;
      const p: Promise<void> = timedRequest(settings, items[i], i, start, abort.signal).then((rec) => {
        records.push(rec);
        inFlight.delete(p);
        control.onDone?.(rec, records.length);
      });
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  } finally {
    clearTimeout(timer);
  }
  records.sort((a, b) => a.index - b.index);
  return {
    records,
    durationMs: performance.now() - start,
    notSent: items.length - sent,
    timedOut: abort.signal.aborted,
  };
}
