/** Load-test figures in vLLM `bench serve` terms, from the per-request records. */
import { RequestRecord } from './request';

export interface Distribution {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

export interface Summary {
  requests: {
    total: number;
    completed: number;
    failed: number;
    not_sent: number;
    /** HTTP status (or "network") -> count, failures only. */
    errors_by_status: Record<string, number>;
    error_rate: number;
  };
  duration_s: number;
  request_throughput: number;
  output_token_throughput: number;
  total_token_throughput: number;
  prompt_tokens: number;
  output_tokens: number;
  ttft_ms: Distribution | null;
  tpot_ms: Distribution | null;
  itl_ms: Distribution | null;
  e2e_ms: Distribution | null;
  goodput: { slo_ttft_ms: number | null; slo_tpot_ms: number | null; requests: number; per_s: number } | null;
}

/** Linear-interpolated percentile of sorted values (numpy's default). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * (p / 100);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function distribution(values: number[]): Distribution | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return {
    count: s.length,
    mean: r3(s.reduce((a, b) => a + b, 0) / s.length),
    min: r3(s[0]),
    max: r3(s[s.length - 1]),
    p50: r3(percentile(s, 50)),
    p90: r3(percentile(s, 90)),
    p95: r3(percentile(s, 95)),
    p99: r3(percentile(s, 99)),
  };
}

/** Time per output token after the first; null for one-token outputs or without a TTFT. */
export function tpot(r: RequestRecord): number | null {
  if (r.ttftMs === null || r.outputTokens < 2) return null;
  return (r.e2eMs - r.ttftMs) / (r.outputTokens - 1);
}

export function summarize(
  records: RequestRecord[],
  durationMs: number,
  notSent: number,
  slo: { ttftMs?: number; tpotMs?: number },
): Summary {
  const ok = records.filter((r) => r.ok);
  const failed = records.filter((r) => !r.ok);
  const errors: Record<string, number> = {};
  for (const r of failed) {
    const k = r.status === 0 ? 'network' : String(r.status);
    errors[k] = (errors[k] ?? 0) + 1;
  }
  const seconds = durationMs / 1000;
  const promptTokens = ok.reduce((a, r) => a + r.promptTokens, 0);
  const outputTokens = ok.reduce((a, r) => a + r.outputTokens, 0);
  const tpots = ok.map(tpot).filter((x): x is number => x !== null);
  let goodput: Summary['goodput'] = null;
  if (slo.ttftMs !== undefined || slo.tpotMs !== undefined) {
    const good = ok.filter(
      (r) =>
        (slo.ttftMs === undefined || (r.ttftMs !== null && r.ttftMs <= slo.ttftMs)) &&
        (slo.tpotMs === undefined || (tpot(r) ?? 0) <= slo.tpotMs),
    ).length;
    goodput = {
      slo_ttft_ms: slo.ttftMs ?? null,
      slo_tpot_ms: slo.tpotMs ?? null,
      requests: good,
      per_s: r3(good / seconds),
    };
  }
  const total = records.length + notSent;
  return {
    requests: {
      total,
      completed: ok.length,
      failed: failed.length,
      not_sent: notSent,
      errors_by_status: errors,
      error_rate: records.length ? r3(failed.length / records.length) : 0,
    },
    duration_s: r3(seconds),
    request_throughput: r3(ok.length / seconds),
    output_token_throughput: r3(outputTokens / seconds),
    total_token_throughput: r3((promptTokens + outputTokens) / seconds),
    prompt_tokens: promptTokens,
    output_tokens: outputTokens,
    ttft_ms: distribution(ok.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs]))),
    tpot_ms: distribution(tpots),
    itl_ms: distribution(ok.flatMap((r) => r.itlMs)),
    e2e_ms: distribution(ok.map((r) => r.e2eMs)),
    goodput,
  };
}

/** Human-readable table (stderr / terminal). */
export function formatSummary(s: Summary): string {
  const line = (k: string, v: string | number) => `${k.padEnd(34)}${v}`;
  const out = [
    '============ Load test result ============',
    line('Successful requests:', s.requests.completed),
    line('Failed requests:', s.requests.failed),
    ...(s.requests.not_sent ? [line('Not sent (time bound):', s.requests.not_sent)] : []),
    ...Object.entries(s.requests.errors_by_status).map(([k, n]) => line(`  errors ${k}:`, n)),
    line('Benchmark duration (s):', s.duration_s.toFixed(2)),
    line('Total input tokens:', s.prompt_tokens),
    line('Total generated tokens:', s.output_tokens),
    line('Request throughput (req/s):', s.request_throughput.toFixed(2)),
    line('Output token throughput (tok/s):', s.output_token_throughput.toFixed(2)),
    line('Total token throughput (tok/s):', s.total_token_throughput.toFixed(2)),
  ];
  if (s.goodput) out.push(line('Request goodput (req/s):', s.goodput.per_s.toFixed(2)));
  const dist = (title: string, d: Distribution | null) => {
    if (!d) return;
    out.push(`---- ${title} ----`);
    for (const k of ['mean', 'p50', 'p90', 'p95', 'p99'] as const)
      out.push(line(`  ${k} (ms):`, d[k].toFixed(2)));
  };
  dist('Time to First Token', s.ttft_ms);
  dist('Time per Output Token (excl. 1st token)', s.tpot_ms);
  dist('Inter-token Latency', s.itl_ms);
  dist('End-to-end Latency', s.e2e_ms);
  out.push('==========================================');
  return out.join('\n');
}
