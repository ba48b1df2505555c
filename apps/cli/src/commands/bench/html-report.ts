/**
 * A self-contained HTML report of a load test (no scripts, no external files): the summary
 * table, latency histograms and a throughput-over-time chart, all as inline SVG.
 */
import { RequestRecord } from './request';
import { Summary, tpot } from './stats';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const W = 460;
const H = 220;
const PAD = { l: 48, r: 12, t: 28, b: 36 };

function axes(
  title: string,
  xLabel: string,
  yMax: number,
  xTicks: string[],
  width = W,
  rightPad = 0,
): string {
  const iw = width - PAD.l - PAD.r - rightPad;
  const ih = H - PAD.t - PAD.b;
  const parts = [
    `<text x="${width / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>`,
    `<line x1="${PAD.l}" y1="${PAD.t + ih}" x2="${PAD.l + iw}" y2="${PAD.t + ih}" class="ax"/>`,
    `<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${PAD.t + ih}" class="ax"/>`,
    `<text x="${width / 2}" y="${H - 4}" text-anchor="middle" class="l">${esc(xLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = PAD.t + ih - (ih * i) / 4;
    parts.push(
      `<line x1="${PAD.l}" y1="${y}" x2="${PAD.l + iw}" y2="${y}" class="g"/>`,
      `<text x="${PAD.l - 4}" y="${y + 4}" text-anchor="end" class="l">${fmt((yMax * i) / 4)}</text>`,
    );
  }
  xTicks.forEach((label, i) => {
    const x = PAD.l + (iw * i) / Math.max(1, xTicks.length - 1);
    parts.push(`<text x="${x}" y="${PAD.t + ih + 14}" text-anchor="middle" class="l">${esc(label)}</text>`);
  });
  return parts.join('');
}

/** Histogram of values (ms) in 20 bins with p50/p99 markers. */
export function histogramSvg(title: string, values: number[]): string {
  if (values.length === 0) {
    return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="t">${esc(title)}: no data</text></svg>`;
  }
  const s = [...values].sort((a, b) => a - b);
  const lo = s[0];
  const hi = s[s.length - 1] === lo ? lo + 1 : s[s.length - 1];
  const bins = new Array<number>(20).fill(0);
  for (const v of s) bins[Math.min(19, Math.floor(((v - lo) / (hi - lo)) * 20))]++;
  const yMax = Math.max(...bins);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / 20;
  const rects = bins
    .map((n, i) => {
      const h = (n / yMax) * ih;
      return `<rect x="${(PAD.l + i * bw + 1).toFixed(1)}" y="${(PAD.t + ih - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" class="bar"><title>${fmt(lo + ((hi - lo) * i) / 20)}-${fmt(lo + ((hi - lo) * (i + 1)) / 20)} ms: ${n}</title></rect>`;
    })
    .join('');
  const marker = (p: number, name: string) => {
    const v = s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
    const x = PAD.l + ((v - lo) / (hi - lo)) * iw;
    return `<line x1="${x.toFixed(1)}" y1="${PAD.t}" x2="${x.toFixed(1)}" y2="${PAD.t + ih}" class="mk"/><text x="${(x + 3).toFixed(1)}" y="${PAD.t + 10}" class="l">${name} ${fmt(v)}</text>`;
  };
  const ticks = [0, 1, 2, 3, 4].map((i) => fmt(lo + ((hi - lo) * i) / 4));
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${axes(`${title} (n=${s.length})`, 'ms', yMax, ticks)}${rects}${marker(0.5, 'p50')}${marker(0.99, 'p99')}</svg>`;
}

/** Completed requests/s and output tokens/s per time bucket (by completion time). */
export function throughputSvg(records: RequestRecord[], durationMs: number): string {
  const ok = records.filter((r) => r.ok);
  const bucketMs = Math.max(1000, Math.ceil(durationMs / 60 / 1000) * 1000);
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const reqs = new Array<number>(n).fill(0);
  const toks = new Array<number>(n).fill(0);
  for (const r of ok) {
    const b = Math.min(n - 1, Math.floor((r.startMs + r.e2eMs) / bucketMs));
    reqs[b] += 1000 / bucketMs;
    toks[b] += (r.outputTokens * 1000) / bucketMs;
  }
  const iw = W * 2 - PAD.l - PAD.r - 40;
  const ih = H - PAD.t - PAD.b;
  const line = (ys: number[], max: number, cls: string) =>
    ys
      .map((y, i) => {
        const x = PAD.l + (n === 1 ? iw / 2 : (iw * i) / (n - 1));
        return `${i ? 'L' : 'M'}${x.toFixed(1)},${(PAD.t + ih - (y / max) * ih).toFixed(1)}`;
      })
      .join(' ')
      .replace(/^/, `<path class="${cls}" d="`)
      .concat('"/>');
  const tMax = Math.max(1, ...toks);
  const rMax = Math.max(1, ...reqs);
  const seconds = (durationMs / 1000).toFixed(1);
  const ticks = [0, 1, 2, 3, 4].map((i) => `${fmt(((durationMs / 1000) * i) / 4)}s`);
  const right = [0, 1, 2, 3, 4]
    .map((i) => {
      const y = PAD.t + ih - (ih * i) / 4;
      return `<text x="${PAD.l + iw + 4}" y="${y + 4}" class="l r">${fmt((rMax * i) / 4)}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${W * 2} ${H}" width="${W * 2}" height="${H}">${axes(`Throughput over time (${bucketMs / 1000}s buckets, ${seconds}s run)`, 'time since start', tMax, ticks, W * 2, 40)}${line(toks, tMax, 'tok')}${line(reqs, rMax, 'req')}${right}<text x="${PAD.l + 6}" y="${PAD.t + 12}" class="l tokl">output tok/s (left axis)</text><text x="${PAD.l + 6}" y="${PAD.t + 26}" class="l reql">requests/s (right axis)</text></svg>`;
}

function table(summary: Summary): string {
  const rows: [string, string][] = [
    ['Successful requests', String(summary.requests.completed)],
    ['Failed requests', String(summary.requests.failed)],
    ['Not sent (time bound)', String(summary.requests.not_sent)],
    ['Errors by status', JSON.stringify(summary.requests.errors_by_status)],
    ['Duration (s)', summary.duration_s.toFixed(2)],
    ['Request throughput (req/s)', summary.request_throughput.toFixed(2)],
    ['Output token throughput (tok/s)', summary.output_token_throughput.toFixed(2)],
    ['Total token throughput (tok/s)', summary.total_token_throughput.toFixed(2)],
    ['Prompt / output tokens', `${summary.prompt_tokens} / ${summary.output_tokens}`],
  ];
  if (summary.goodput) {
    rows.push([
      `Goodput (TTFT <= ${summary.goodput.slo_ttft_ms ?? '-'} ms, TPOT <= ${summary.goodput.slo_tpot_ms ?? '-'} ms)`,
      `${summary.goodput.per_s.toFixed(2)} req/s (${summary.goodput.requests} requests)`,
    ]);
  }
  const dists = (
    [
      ['TTFT', summary.ttft_ms],
      ['TPOT', summary.tpot_ms],
      ['ITL', summary.itl_ms],
      ['E2E', summary.e2e_ms],
    ] as const
  )
    .filter(([, d]) => d)
    .map(
      ([name, d]) =>
        `<tr><td>${name}</td>${(['mean', 'p50', 'p90', 'p95', 'p99', 'max'] as const).map((k) => `<td>${d![k].toFixed(2)}</td>`).join('')}</tr>`,
    )
    .join('');
  return (
    `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>` +
    `<table><tr><th>ms</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>${dists}</table>`
  );
}

export function renderHtmlReport(
  summary: Summary,
  records: RequestRecord[],
  durationMs: number,
  meta: Record<string, unknown>,
): string {
  const ok = records.filter((r) => r.ok);
  const charts = [
    histogramSvg(
      'Time to first token',
      ok.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs])),
    ),
    histogramSvg(
      'Time per output token',
      ok.map(tpot).filter((x): x is number => x !== null),
    ),
    histogramSvg(
      'Inter-token latency',
      ok.flatMap((r) => r.itlMs),
    ),
    histogramSvg(
      'End-to-end latency',
      ok.map((r) => r.e2eMs),
    ),
  ];
  const metaRows = Object.entries(meta)
    .map(
      ([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llm-inference load test</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse;margin:0 24px 12px 0;display:inline-table;vertical-align:top}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}td{font-variant-numeric:tabular-nums}
svg{margin:4px 8px 4px 0;border:1px solid #eee}
.t{font-size:13px;font-weight:600}.l{font-size:10px;fill:#555}.ax{stroke:#333}.g{stroke:#eee}
.bar{fill:#4a7fd4}.mk{stroke:#d43f3a;stroke-dasharray:3 2}
.tok{fill:none;stroke:#2a9d5b;stroke-width:4}.req{fill:none;stroke:#d4862a;stroke-width:2;stroke-dasharray:6 4}
.tokl{fill:#2a9d5b}.reql{fill:#d4862a}
</style></head><body>
<h1>llm-inference load test</h1>
<table>${metaRows}</table>
${table(summary)}
<h2>Latency histograms</h2>
<div>${charts.join('\n')}</div>
<h2>Throughput over time</h2>
<div>${throughputSvg(records, durationMs)}</div>
</body></html>
`;
}
