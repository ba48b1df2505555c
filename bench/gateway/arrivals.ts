/**
 * Open-loop arrival schedules for the gateway overhead benchmark: a Poisson process (exponential
 * inter-arrival times) from a seeded PRNG, so a run can be repeated and the gateway and the
 * in-process engine can be driven with exactly the same arrivals.
 */

/** mulberry32: a tiny 32-bit PRNG, uniform in [0, 1); good enough for a load schedule. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Arrival times in ms from the start (ascending, all < seconds * 1000) at a mean of `rate` per second. */
export function poissonArrivals(rate: number, seconds: number, seed: number): number[] {
  if (!(rate > 0)) throw new Error(`rate must be > 0, got ${rate}`);
  const random = mulberry32(seed);
  const meanMs = 1000 / rate;
  const end = seconds * 1000;
  const times: number[] = [];
  // 1 - u is in (0, 1], so the log is finite
  for (let t = -Math.log(1 - random()) * meanMs; t < end; t += -Math.log(1 - random()) * meanMs) {
    times.push(t);
  }
  return times;
}
