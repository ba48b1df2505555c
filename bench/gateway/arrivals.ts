/**
 * Open-loop arrival schedules for the gateway overhead benchmark: a Poisson process (exponential
 * inter-arrival times) from a seeded PRNG, so a run can be repeated and the gateway and the
 * in-process engine can be driven with exactly the same arrivals.
 */
import { prng } from '../../apps/cli/src/commands/bench/prng';

/** Arrival times in ms from the start (ascending, all < seconds * 1000) at a mean of `rate` per second. */
export function poissonArrivals(rate: number, seconds: number, seed: number): number[] {
  if (!(rate > 0)) throw new Error(`rate must be > 0, got ${rate}`);
  const random = prng(seed);
  const meanMs = 1000 / rate;
  const end = seconds * 1000;
  const times: number[] = [];
  // 1 - u is in (0, 1], so the log is finite
  for (let t = -Math.log(1 - random()) * meanMs; t < end; t += -Math.log(1 - random()) * meanMs) {
    times.push(t);
  }
  return times;
}
