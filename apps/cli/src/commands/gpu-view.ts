import { PromSample, sampleSum } from '@app/observability';

/** One scrape of GET /metrics and when it was taken. */
export interface Snapshot {
  samples: PromSample[];
  atMs: number;
}

const GIB = 1024 ** 3;

function fmt(v: number | undefined, digits = 1, suffix = ''): string {
  return v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(digits)}${suffix}`;
}

/** Increase of a counter between two snapshots per second (undefined without both readings). */
function rate(prev: Snapshot | null, cur: Snapshot, name: string): number | undefined {
  if (!prev) return undefined;
  const a = sampleSum(prev.samples, name);
  const b = sampleSum(cur.samples, name);
  const dt = (cur.atMs - prev.atMs) / 1000;
  if (a === undefined || b === undefined || dt <= 0) return undefined;
  return Math.max(0, b - a) / dt;
}

/** Mean of a histogram over the interval (or since start without a previous snapshot), in ms. */
function meanMs(prev: Snapshot | null, cur: Snapshot, name: string): number | undefined {
  const sum = (s: Snapshot | null) => (s ? (sampleSum(s.samples, `${name}_sum`) ?? 0) : 0);
  const count = (s: Snapshot | null) => (s ? (sampleSum(s.samples, `${name}_count`) ?? 0) : 0);
  const n = count(cur) - count(prev);
  return n > 0 ? ((sum(cur) - sum(prev)) / n) * 1000 : undefined;
}

/** The text of `llm-inference gpu`: GPUs (NVML), the engine and the lanes, from two scrapes. */
export function renderGpuView(prev: Snapshot | null, cur: Snapshot, source: string): string {
  const s = cur.samples;
  const lines: string[] = [`llm-inference gpu  ${source}  ${new Date(cur.atMs).toISOString()}`, ''];

  const gpus = [...new Set(s.filter((x) => x.name.startsWith('llm_gpu_')).map((x) => x.labels.gpu))].sort();
  if (gpus.length === 0) {
    lines.push('GPU: none reported (no NVML or no GPU on the server: the llm_gpu_* series are absent)');
  } else {
    lines.push('GPU  util    memory used / total       temp    power   ECC uncorr.');
    for (const gpu of gpus) {
      const v = (name: string) => sampleSum(s, name, { gpu });
      const used = v('llm_gpu_memory_used_bytes');
      const total = v('llm_gpu_memory_total_bytes');
      const util = v('llm_gpu_utilization_ratio');
      lines.push(
        [
          gpu.padEnd(4),
          fmt(util === undefined ? undefined : util * 100, 0, '%').padEnd(7),
          `${fmt(used === undefined ? undefined : used / GIB, 1)} / ${fmt(total === undefined ? undefined : total / GIB, 1)} GiB`.padEnd(
            25,
          ),
          fmt(v('llm_gpu_temperature_celsius'), 0, ' C').padEnd(7),
          fmt(v('llm_gpu_power_watts'), 0, ' W').padEnd(7),
          fmt(sampleSum(s, 'llm_gpu_ecc_errors_total', { gpu, type: 'uncorrected' }), 0),
        ].join(' '),
      );
    }
  }
  lines.push('');

  const up = sampleSum(s, 'llm_engine_up');
  const model = s.find((x) => x.name === 'llm_num_requests_running')?.labels.model_name ?? '-';
  const kv = sampleSum(s, 'llm_kv_cache_usage_perc');
  const queries = sampleSum(s, 'llm_prefix_cache_queries_total');
  const hits = sampleSum(s, 'llm_prefix_cache_hits_total');
  lines.push(
    `Engine: ${up === undefined ? 'not in this process' : up === 1 ? 'up' : 'DOWN'}   model ${model}`,
  );
  lines.push(
    `  running ${fmt(sampleSum(s, 'llm_num_requests_running'), 0)}   waiting ${fmt(sampleSum(s, 'llm_num_requests_waiting'), 0)}` +
      `   KV cache ${fmt(kv === undefined ? undefined : kv * 100, 1, '%')}` +
      `   prefix hits ${fmt(queries ? ((hits ?? 0) / queries) * 100 : undefined, 1, '%')}` +
      `   preemptions ${fmt(sampleSum(s, 'llm_num_preemptions_total'), 0)}`,
  );
  lines.push(
    `  generation ${fmt(rate(prev, cur, 'llm_generation_tokens_total'), 1)} tok/s   prompt ${fmt(rate(prev, cur, 'llm_prompt_tokens_total'), 1)} tok/s` +
      `   total generated ${fmt(sampleSum(s, 'llm_generation_tokens_total'), 0)}`,
  );
  lines.push(
    `  TTFT ${fmt(meanMs(prev, cur, 'llm_time_to_first_token_seconds'), 1, ' ms')}   ITL ${fmt(meanMs(prev, cur, 'llm_inter_token_latency_seconds'), 2, ' ms')}` +
      `   e2e ${fmt(meanMs(prev, cur, 'llm_e2e_request_latency_seconds'), 1, ' ms')}   step ${fmt(meanMs(prev, cur, 'llm_engine_step_seconds'), 2, ' ms')}` +
      `  (${prev ? 'mean over the interval' : 'mean since start'})`,
  );
  lines.push('');
  const lanes = ['interactive', 'standard', 'batch']
    .map((lane) => `${lane} ${fmt(sampleSum(s, 'llm_lane_queue_depth', { lane }), 0)}`)
    .join('   ');
  lines.push(`Lanes queued: ${lanes}   shed ${fmt(sampleSum(s, 'llm_lane_shed_total') ?? 0, 0)}`);
  lines.push(`HTTP in flight: ${fmt(sampleSum(s, 'llm_http_requests_in_flight'), 0)}`);
  return lines.join('\n') + '\n';
}
