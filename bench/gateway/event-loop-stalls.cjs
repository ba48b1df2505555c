/**
 * Preload for the gateway under bench/gateway/run.ts: what stalls its JS thread. Every 2.5 s it
 * appends the event-loop delay percentiles (1 ms resolution) and the GC pauses so far (count,
 * total, longest, by kind: 1 scavenge, 4 mark-compact, 8 incremental marking) to STALLS_LOG
 * (default /tmp/event-loop-stalls.log; GATEWAY_ENV="STALLS_LOG=..." sets it).
 *
 *   GATEWAY_NODE_ARGS="-r ./bench/gateway/event-loop-stalls.cjs" npm run bench:gateway -- --rate 1000
 */
const { monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');
const fs = require('node:fs');
const LOG = process.env.STALLS_LOG || '/tmp/event-loop-stalls.log';
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const gc = { n: 0, totalMs: 0, maxMs: 0, msByKind: {} };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.n++;
    gc.totalMs += e.duration;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
    const kind = e.detail?.kind;
    gc.msByKind[kind] = (gc.msByKind[kind] || 0) + e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const ms = (ns) => (ns / 1e6).toFixed(2);
const report = () => {
  const at = new Date().toISOString().slice(11, 19);
  const p = (q) => ms(delay.percentile(q));
  fs.appendFileSync(
    LOG,
    `${at} delay p50 ${p(50)} p90 ${p(90)} p99 ${p(99)} p99.9 ${p(99.9)} max ${ms(delay.max)} ms` +
      ` | gc n ${gc.n} total ${gc.totalMs.toFixed(0)} ms max ${gc.maxMs.toFixed(2)} ms by kind ${JSON.stringify(gc.msByKind)}\n`,
  );
  delay.reset();
};
setInterval(report, 2500).unref();
process.on('SIGTERM', report);
