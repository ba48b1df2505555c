#!/usr/bin/env node
// Generates the Grafana dashboards in monitoring/grafana/dashboards/ from the panel lists below.
//   node monitoring/grafana/build-dashboards.mjs          write the JSON files
//   node monitoring/grafana/build-dashboards.mjs --check  exit 1 when a committed file is stale
// Metric names must be listed in docs/metrics.md (checked by scripts/ci/ops-checks.sh).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const outDir = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');
const DS = { type: 'prometheus', uid: 'llm-prometheus' };
const SEL = 'instance=~"$instance"';
// Engine series carry model_name (one engine per served model: MODEL_PATH's and MODELS_FILE's).
const MSEL = `${SEL}, model_name=~"$model"`;

let nextId = 1;
function target(expr, legendFormat, refId) {
  return { datasource: DS, expr, legendFormat, refId, range: true };
}
function panel(type, title, exprs, { unit = 'short', w = 12, h = 8, min, max, description, options } = {}) {
  const refIds = 'ABCDEFGH';
  const defaults = { unit };
  if (min !== undefined) defaults.min = min;
  if (max !== undefined) defaults.max = max;
  return {
    id: nextId++,
    type,
    title,
    description: description ?? '',
    datasource: DS,
    gridPos: { w, h, x: 0, y: 0 },
    fieldConfig: { defaults, overrides: [] },
    options:
      options ??
      (type === 'timeseries'
        ? {
            legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
            tooltip: { mode: 'multi' },
          }
        : {}),
    targets: exprs.map(([expr, legend], i) => target(expr, legend, refIds[i])),
  };
}
const ts = (title, exprs, opts) => panel('timeseries', title, exprs, opts);
const stat = (title, exprs, opts) => panel('stat', title, exprs, { w: 6, h: 4, ...opts });
const row = (title) => ({
  id: nextId++,
  type: 'row',
  title,
  collapsed: false,
  gridPos: { w: 24, h: 1, x: 0, y: 0 },
  panels: [],
});
const quantiles = (metric, by = '', extra = '', sel = SEL) =>
  [0.5, 0.95, 0.99].map((q) => [
    `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket{${sel}${extra}}[$__rate_interval])))`,
    `p${Math.round(q * 100)}${by ? ` {{${by}}}` : ''}`,
  ]);

// Lays panels out left to right, wrapping at 24 columns; rows take a full line.
function layout(panels) {
  let x = 0;
  let y = 0;
  let rowH = 0;
  for (const p of panels) {
    const { w, h } = p.gridPos;
    if (p.type === 'row' || x + w > 24) {
      y += rowH;
      x = 0;
      rowH = 0;
    }
    p.gridPos = { w, h, x, y };
    x += w;
    rowH = Math.max(rowH, h);
    if (p.type === 'row') {
      y += h;
      x = 0;
      rowH = 0;
    }
  }
  return panels;
}

// A multi-value Grafana variable over a label's values ("All" = any).
function queryVariable(name, label, query) {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    query: { query, refId: name },
    definition: query,
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    sort: 1,
  };
}

// The $model variable (engine dashboard): the served models that report llm_engine_up.
const MODEL_VARIABLE = queryVariable(
  'model',
  'Model',
  'label_values(llm_engine_up{instance=~"$instance"}, model_name)',
);

function dashboard(uid, title, description, panels, variables = []) {
  return {
    uid,
    title,
    description,
    tags: ['llm-inference'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: [{ type: 'dashboards', tags: ['llm-inference'], asDropdown: true, title: 'LLM dashboards' }],
    templating: {
      list: [
        queryVariable('instance', 'Instance', 'label_values(up{job=~"llm-gateway|llm-engine"}, instance)'),
        ...variables,
      ],
    },
    panels: layout(panels),
  };
}

function overview() {
  nextId = 1;
  return dashboard(
    'llm-overview',
    'LLM inference / Overview',
    'Throughput, errors, latency percentiles, TTFT and inter-token latency.',
    [
      stat(
        'Requests / s',
        [[`sum(rate(llm_http_requests_total{${SEL}, route=~"/v1/.*"}[$__rate_interval]))`, 'req/s']],
        { unit: 'reqps' },
      ),
      stat(
        '5xx ratio (/v1)',
        [
          [
            `sum(rate(llm_http_requests_total{${SEL}, route=~"/v1/.*", status=~"5.."}[$__rate_interval])) / sum(rate(llm_http_requests_total{${SEL}, route=~"/v1/.*"}[$__rate_interval]))`,
            '5xx',
          ],
        ],
        { unit: 'percentunit' },
      ),
      stat('Generated tokens / s', [
        [`sum(rate(llm_generation_tokens_total{${SEL}}[$__rate_interval]))`, 'tok/s'],
      ]),
      stat('In-flight requests', [[`sum(llm_http_requests_in_flight{${SEL}})`, 'in flight']]),
      row('Throughput'),
      ts(
        'Requests / s by route and status',
        [
          [
            `sum by (route, status) (rate(llm_http_requests_total{${SEL}}[$__rate_interval]))`,
            '{{route}} {{status}}',
          ],
        ],
        { unit: 'reqps' },
      ),
      ts('Tokens / s', [
        [`sum(rate(llm_prompt_tokens_total{${SEL}}[$__rate_interval]))`, 'prompt'],
        [`sum(rate(llm_generation_tokens_total{${SEL}}[$__rate_interval]))`, 'generation'],
      ]),
      ts(
        'Finished requests by reason',
        [
          [
            `sum by (finished_reason) (rate(llm_request_success_total{${SEL}}[$__rate_interval]))`,
            '{{finished_reason}}',
          ],
        ],
        { unit: 'reqps' },
      ),
      ts('In-flight HTTP requests', [[`sum by (route) (llm_http_requests_in_flight{${SEL}})`, '{{route}}']]),
      row('Latency'),
      ts(
        'HTTP latency, completions (SLO: p95 < 3 s)',
        quantiles('llm_http_request_duration_seconds', '', ', route=~"/v1/(chat/)?completions"'),
        { unit: 's' },
      ),
      ts('End-to-end request latency (engine)', quantiles('llm_e2e_request_latency_seconds'), { unit: 's' }),
      ts('Time to first token', quantiles('llm_time_to_first_token_seconds'), { unit: 's' }),
      ts('Inter-token latency', quantiles('llm_inter_token_latency_seconds'), { unit: 's' }),
      ts(
        'Engine queue / prefill / decode time (p95)',
        [
          [
            `histogram_quantile(0.95, sum by (le) (rate(llm_request_queue_time_seconds_bucket{${SEL}}[$__rate_interval])))`,
            'queue',
          ],
          [
            `histogram_quantile(0.95, sum by (le) (rate(llm_request_prefill_time_seconds_bucket{${SEL}}[$__rate_interval])))`,
            'prefill',
          ],
          [
            `histogram_quantile(0.95, sum by (le) (rate(llm_request_decode_time_seconds_bucket{${SEL}}[$__rate_interval])))`,
            'decode',
          ],
        ],
        { unit: 's' },
      ),
      ts('Gateway process', [[`process_resident_memory_bytes{${SEL}}`, 'rss {{instance}}']], {
        unit: 'bytes',
      }),
    ],
  );
}

function engine() {
  nextId = 1;
  return dashboard(
    'llm-engine',
    'LLM inference / Engine, lanes, quotas, metering',
    'KV cache, batching, preemptions, prefix cache, lane queues and shedding, quota rejections, usage metering.',
    [
      stat('Engine up', [[`min(llm_engine_up{${MSEL}})`, 'up']], { min: 0, max: 1 }),
      stat('KV cache usage', [[`max(llm_kv_cache_usage_perc{${MSEL}})`, 'kv']], {
        unit: 'percentunit',
        min: 0,
        max: 1,
      }),
      stat(
        'Prefix cache hit ratio',
        [
          [
            `sum(rate(llm_prefix_cache_hits_total{${MSEL}}[$__rate_interval])) / sum(rate(llm_prefix_cache_queries_total{${MSEL}}[$__rate_interval]))`,
            'hits',
          ],
        ],
        { unit: 'percentunit' },
      ),
      stat('Metering journal', [[`sum(llm_metering_journal_bytes{${SEL}})`, 'journal']], { unit: 'bytes' }),
      row('Engine'),
      ts('KV cache usage', [[`llm_kv_cache_usage_perc{${MSEL}}`, '{{instance}} {{model_name}}']], {
        unit: 'percentunit',
        min: 0,
        max: 1,
      }),
      ts('Requests running / waiting', [
        [`sum by (model_name) (llm_num_requests_running{${MSEL}})`, 'running {{model_name}}'],
        [`sum by (model_name) (llm_num_requests_waiting{${MSEL}})`, 'waiting {{model_name}}'],
      ]),
      ts('Preemptions / s', [
        [`sum by (instance) (rate(llm_num_preemptions_total{${MSEL}}[$__rate_interval]))`, '{{instance}}'],
      ]),
      ts('Prefix cache queries and hits (tokens / s)', [
        [`sum(rate(llm_prefix_cache_queries_total{${MSEL}}[$__rate_interval]))`, 'queries'],
        [`sum(rate(llm_prefix_cache_hits_total{${MSEL}}[$__rate_interval]))`, 'hits'],
      ]),
      ts('Tokens per engine step', [
        [
          `histogram_quantile(0.5, sum by (le) (rate(llm_iteration_tokens_total_bucket{${MSEL}}[$__rate_interval])))`,
          'p50',
        ],
        [
          `histogram_quantile(0.95, sum by (le) (rate(llm_iteration_tokens_total_bucket{${MSEL}}[$__rate_interval])))`,
          'p95',
        ],
        [
          `sum(rate(llm_iteration_tokens_total_sum{${MSEL}}[$__rate_interval])) / sum(rate(llm_iteration_tokens_total_count{${MSEL}}[$__rate_interval]))`,
          'mean',
        ],
      ]),
      ts('Engine step time', quantiles('llm_engine_step_seconds', 'model_name', '', MSEL), { unit: 's' }),
      ts('Speculative decoding: draft tokens and acceptance (SPECULATIVE_NGRAM_TOKENS)', [
        [`sum(rate(llm_spec_decode_num_draft_tokens_total{${MSEL}}[$__rate_interval]))`, 'drafted / s'],
        [`sum(rate(llm_spec_decode_num_accepted_tokens_total{${MSEL}}[$__rate_interval]))`, 'accepted / s'],
      ]),
      ts('Engine errors / s', [
        [
          `sum by (model_name, kind) (rate(llm_engine_errors_total{${MSEL}}[$__rate_interval]))`,
          '{{model_name}} {{kind}}',
        ],
      ]),
      row('Lanes'),
      ts('Lane queue depth', [[`sum by (lane) (llm_lane_queue_depth{${SEL}})`, '{{lane}}']]),
      ts(
        'Lane wait p95',
        [
          [
            `histogram_quantile(0.95, sum by (le, lane) (rate(llm_lane_wait_seconds_bucket{${SEL}}[$__rate_interval])))`,
            '{{lane}}',
          ],
        ],
        { unit: 's' },
      ),
      ts(
        'Offered requests / s by lane',
        [[`sum by (lane) (rate(llm_lane_requests_total{${SEL}}[$__rate_interval]))`, '{{lane}}']],
        { unit: 'reqps' },
      ),
      ts(
        'Shed requests / s by lane and reason',
        [
          [
            `sum by (lane, reason) (rate(llm_lane_shed_total{${SEL}}[$__rate_interval]))`,
            '{{lane}} {{reason}}',
          ],
        ],
        { unit: 'reqps' },
      ),
      ts(
        'Batch lines / s by result (/v1/batches)',
        [[`sum by (result) (rate(llm_batch_lines_total{${SEL}}[$__rate_interval]))`, '{{result}}']],
        {
          unit: 'ops',
          description:
            'succeeded / failed: answered (2xx / an error in the error file); retried: refused for now (lane share, tokens per minute, concurrency, engine down) and run again.',
        },
      ),
      ts('Batches ended / h by status', [
        [`sum by (status) (increase(llm_batches_total{${SEL}}[1h]))`, '{{status}}'],
      ]),
      row('Quotas and metering'),
      ts(
        'Quota rejections / s by reason',
        [[`sum by (reason) (rate(llm_quota_rejections_total{${SEL}}[$__rate_interval]))`, '{{reason}}']],
        { unit: 'reqps' },
      ),
      ts(
        'Guardrails: refusals and redactions / s',
        [
          [
            `sum by (guardrail, direction, action) (rate(llm_guardrail_triggers_total{${SEL}}[$__rate_interval]))`,
            '{{guardrail}} {{direction}} {{action}}',
          ],
        ],
        { unit: 'ops' },
      ),
      ts('Metering buffer depth', [[`llm_metering_buffer_depth{${SEL}}`, '{{instance}}']]),
      ts('Metering flush latency', quantiles('llm_metering_flush_seconds'), { unit: 's' }),
      ts('Metering journal and write failures', [
        [`llm_metering_journal_bytes{${SEL}}`, 'journal {{instance}}'],
        [
          `increase(llm_metering_write_failures_total{${SEL}}[$__rate_interval])`,
          'write failures {{instance}}',
        ],
      ]),
    ],
    [MODEL_VARIABLE],
  );
}

function tenantsGpu() {
  nextId = 1;
  return dashboard(
    'llm-tenants-gpu',
    'LLM inference / Tenants and GPU',
    'Top tenants by tokens (needs METRICS_TENANT_LABELS on) and NVML GPU series (absent on CPU hosts).',
    [
      row('Tenants'),
      panel(
        'bargauge',
        'Top 10 tenants by tokens (range)',
        [[`topk(10, sum by (tenant) (increase(llm_tenant_tokens_total{${SEL}}[$__range])))`, '{{tenant}}']],
        {
          w: 12,
          h: 10,
          options: {
            displayMode: 'gradient',
            orientation: 'horizontal',
            reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
            showUnfilled: true,
          },
        },
      ),
      ts(
        'Tokens / s, top 10 tenants',
        [
          [
            `topk(10, sum by (tenant, kind) (rate(llm_tenant_tokens_total{${SEL}}[$__rate_interval])))`,
            '{{tenant}} {{kind}}',
          ],
        ],
        { h: 10 },
      ),
      row('GPU'),
      ts('GPU utilization', [[`llm_gpu_utilization_ratio{${SEL}}`, '{{instance}} gpu{{gpu}}']], {
        unit: 'percentunit',
        min: 0,
        max: 1,
      }),
      ts(
        'GPU memory',
        [
          [`llm_gpu_memory_used_bytes{${SEL}}`, 'used {{instance}} gpu{{gpu}}'],
          [`llm_gpu_memory_total_bytes{${SEL}}`, 'total {{instance}} gpu{{gpu}}'],
        ],
        { unit: 'bytes' },
      ),
      ts('GPU temperature', [[`llm_gpu_temperature_celsius{${SEL}}`, '{{instance}} gpu{{gpu}}']], {
        unit: 'celsius',
      }),
      ts('GPU power', [[`llm_gpu_power_watts{${SEL}}`, '{{instance}} gpu{{gpu}}']], { unit: 'watt' }),
      ts('GPU ECC errors (increase)', [
        [`increase(llm_gpu_ecc_errors_total{${SEL}}[$__rate_interval])`, '{{instance}} gpu{{gpu}} {{type}}'],
      ]),
    ],
  );
}

const files = {
  'llm-overview.json': overview(),
  'llm-engine.json': engine(),
  'llm-tenants-gpu.json': tenantsGpu(),
};
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, dash] of Object.entries(files)) {
  const path = join(outDir, name);
  const text = `${JSON.stringify(dash, null, 2)}\n`;
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (current !== text) {
      console.error(`stale: ${path} (run node monitoring/grafana/build-dashboards.mjs)`);
      stale++;
    }
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale ? 1 : 0);
