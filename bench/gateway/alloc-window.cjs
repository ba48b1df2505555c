/**
 * Preload for the gateway under bench/gateway/run.ts: allocation per request. A sampled heap
 * profile (collected objects included) from 8 s to 23 s after start (the warm-up and first
 * round), requests counted through diagnostics_channel; appends "requests N bytes B per_req X" to
 * ALLOC_LOG (default /tmp/alloc-window.log; GATEWAY_ENV="ALLOC_LOG=..." sets it) and writes the profile beside it (.heapprofile).
 *
 *   GATEWAY_NODE_ARGS="-r ./bench/gateway/alloc-window.cjs" npm run bench:gateway -- --rounds 2
 */
const inspector = require('node:inspector');
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const LOG = process.env.ALLOC_LOG || '/tmp/alloc-window.log';
const s = new inspector.Session();
s.connect();
let counting = false;
let requests = 0;
dc.subscribe('http.server.request.start', () => {
  if (counting) requests++;
});
setTimeout(() => {
  s.post(
    'HeapProfiler.startSampling',
    {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    },
    () => {
      counting = true;
    },
  );
  setTimeout(() => {
    counting = false;
    s.post('HeapProfiler.stopSampling', (err, r) => {
      let total = 0;
      const walk = (n) => {
        total += n.selfSize;
        (n.children || []).forEach(walk);
      };
      walk(r.profile.head);
      fs.appendFileSync(
        LOG,
        `requests ${requests} bytes ${total} per_req ${(total / requests).toFixed(0)}\n`,
      );
      fs.writeFileSync(`${LOG}.heapprofile`, JSON.stringify(r.profile));
    });
  }, 15000).unref();
}, 8000).unref();
