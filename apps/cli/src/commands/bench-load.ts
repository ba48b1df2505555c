/**
 * `bench load`: a vLLM `bench serve`-style load test against an OpenAI-compatible server.
 * Prints the summary table on stderr and the JSON result on stdout (and --output / --html files).
 */
import { writeFileSync } from 'node:fs';
import { ParsedArgs, UsageError } from '../args';
import { firstModel } from './chat-stream';
import { renderHtmlReport } from './bench/html-report';
import { BENCH_LOAD_HELP, parseLoadOptions } from './bench/options';
import { ProgressBar } from './bench/progress';
import { runLoad } from './bench/runner';
import { formatSummary, summarize } from './bench/stats';
import { datasetWorkload, syntheticWorkload } from './bench/workload';

export { BENCH_LOAD_HELP };

function writeFile(path: string, text: string, flag: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new Error(`${flag}: cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

export async function benchCommand(args: ParsedArgs): Promise<unknown> {
  if (args.positional[1] !== 'load') throw new UsageError(BENCH_LOAD_HELP);
  const o = parseLoadOptions(args);
  const model = o.model ?? (await firstModel(o.target));
  let calibrated = false;
  let items;
  if (o.dataset) items = datasetWorkload(o.dataset, o.endpoint, o.requests);
  else {
    const w = await syntheticWorkload(
      o.target,
      model,
      o.endpoint,
      o.requests,
      o.inputLen,
      o.outputLen,
      o.seed,
    );
    items = w.items;
    calibrated = w.calibrated;
  }
  const bar = new ProgressBar(items.length, 'bench load', o.progress);
  let failures = 0;
  const run = await runLoad(
    {
      target: o.target,
      model,
      endpoint: o.endpoint,
      stream: o.stream,
      ignoreEos: o.ignoreEos,
      serviceTier: o.serviceTier,
    },
    items,
    {
      concurrency: o.concurrency,
      rate: o.rate,
      maxSeconds: o.maxSeconds,
      seed: o.seed,
      onDone: (rec, done) => {
        if (!rec.ok) failures++;
        bar.update(done, failures ? `(${failures} failed)` : '');
      },
    },
  );
  bar.finish();
  const summary = summarize(run.records, run.durationMs, run.notSent, {
    ttftMs: o.sloTtftMs,
    tpotMs: o.sloTpotMs,
  });
  const config = {
    url: o.target.baseUrl,
    model,
    endpoint: o.endpoint,
    requests: o.requests,
    concurrency: o.concurrency,
    rate: Number.isFinite(o.rate) ? o.rate : null,
    max_seconds: o.maxSeconds,
    stream: o.stream,
    ignore_eos: o.ignoreEos,
    dataset: o.dataset ?? null,
    input_len: o.dataset ? null : o.inputLen,
    input_len_calibrated: o.dataset ? null : calibrated,
    output_len: o.dataset ? null : o.outputLen,
    seed: o.seed,
  };
  const result = {
    bench: 'load',
    date: new Date().toISOString(),
    config,
    timed_out: run.timedOut,
    summary,
    requests: run.records.map((r) => ({
      index: r.index,
      id: r.id ?? null,
      status: r.status,
      ok: r.ok,
      error: r.error ?? null,
      start_ms: +r.startMs.toFixed(3),
      ttft_ms: r.ttftMs === null ? null : +r.ttftMs.toFixed(3),
      e2e_ms: +r.e2eMs.toFixed(3),
      prompt_tokens: r.promptTokens,
      output_tokens: r.outputTokens,
      itl_ms: r.itlMs.map((x) => +x.toFixed(3)),
    })),
  };
  process.stderr.write(formatSummary(summary) + '\n');
  if (o.output) writeFile(o.output, JSON.stringify(result, null, 2) + '\n', '--output');
  if (o.html) writeFile(o.html, renderHtmlReport(summary, run.records, run.durationMs, config), '--html');
  if (summary.requests.completed === 0) {
    const errors = JSON.stringify(summary.requests.errors_by_status);
    const first = run.records.find((r) => r.error)?.error ?? 'no request was sent';
    throw new Error(`every request failed (${errors}); first error: ${first}`);
  }
  // With files written, stdout gets the summary only (the per-request list can be large).
  return o.output ? { summary, output: o.output, html: o.html ?? null } : result;
}
