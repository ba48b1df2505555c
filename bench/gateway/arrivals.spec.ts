import { poissonArrivals } from './arrivals';

describe('poissonArrivals', () => {
  it('is the same schedule for the same seed, another for another seed', () => {
    expect(poissonArrivals(500, 2, 7)).toEqual(poissonArrivals(500, 2, 7));
    expect(poissonArrivals(500, 2, 7)).not.toEqual(poissonArrivals(500, 2, 8));
  });

  it('has ascending times within the run and a mean inter-arrival of about 1/rate', () => {
    const rate = 1000;
    const times = poissonArrivals(rate, 20, 1);
    expect(times[0]).toBeGreaterThanOrEqual(0);
    expect(times[times.length - 1]).toBeLessThan(20_000);
    const gaps = times.map((t, i) => t - (i ? times[i - 1] : 0));
    expect(gaps.every((g) => g >= 0)).toBe(true);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    // 20,000 samples: the standard error of the mean is 1/sqrt(20000) ≈ 0.7 % of 1 ms
    expect(mean).toBeGreaterThan(0.97);
    expect(mean).toBeLessThan(1.03);
    expect(times.length).toBeGreaterThan(19_400);
    expect(times.length).toBeLessThan(20_600);
  });

  it('has exponential gaps: their standard deviation is about their mean', () => {
    const times = poissonArrivals(200, 100, 3);
    const gaps = times.map((t, i) => t - (i ? times[i - 1] : 0));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    expect(sd / mean).toBeGreaterThan(0.95);
    expect(sd / mean).toBeLessThan(1.05);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => poissonArrivals(0, 1, 1)).toThrow('rate must be > 0');
    expect(() => poissonArrivals(NaN, 1, 1)).toThrow('rate must be > 0');
  });
});
