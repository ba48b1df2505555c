import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * The metric contract of docs/metrics.md: names, label names and buckets. Alerts, recording
 * rules, dashboards and the HPA depend on these exact names; change the doc first.
 */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];
export const BUCKETS = {
  latency: LATENCY_BUCKETS,
  ttft: [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2, 2.5, 5, 10, 20, 40, 80],
  itl: [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5],
  step: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  iterationTokens: [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
  laneWait: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  meteringFlush: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
} as const;

type Spec<L extends string> = { name: string; help: string; labelNames?: readonly L[] };

/*
 * Metrics live in prom-client's default registry (the one @willsoto/nestjs-prometheus serves).
 * A second gateway in the same process (e2e tests) reuses the registered metric objects instead
 * of failing with "already registered".
 */
function existing<T>(name: string): T | undefined {
  return register.getSingleMetric(name) as T | undefined;
}

export function counter<L extends string>(spec: Spec<L>): Counter<L> {
  return existing<Counter<L>>(spec.name) ?? new Counter<L>({ ...spec, labelNames: spec.labelNames ?? [] });
}

export function gauge<L extends string>(spec: Spec<L>): Gauge<L> {
  return existing<Gauge<L>>(spec.name) ?? new Gauge<L>({ ...spec, labelNames: spec.labelNames ?? [] });
}

export function histogram<L extends string>(spec: Spec<L> & { buckets: readonly number[] }): Histogram<L> {
  return (
    existing<Histogram<L>>(spec.name) ??
    new Histogram<L>({ ...spec, labelNames: spec.labelNames ?? [], buckets: [...spec.buckets] })
  );
}
