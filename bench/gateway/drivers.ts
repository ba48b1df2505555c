/**
 * The drivers of the gateway overhead benchmark: (a) over HTTP through the full gateway, (b)
 * straight to an EngineProvider in-process. Either as a closed loop (`concurrency` workers each
 * send one request after another for `seconds`) or as an open loop (requests start at given
 * arrival times, at most `concurrency` in flight). Both record every latency.
 */
import { Agent, request } from 'node:http';
import { EngineProvider } from '@app/engine';

export interface DriveResult {
  ok: number;
  errors: Record<string, number>;
  seconds: number;
  rps: number;
  latencies: number[];
  /** Open loop only: arrivals that found `concurrency` requests in flight and were not sent. */
  dropped?: number;
}

/** How to load the target: closed loop, or open loop when `arrivals` (ms from the start) is given. */
export interface Load {
  seconds: number;
  concurrency: number;
  arrivals?: number[];
}

/** One request: resolves to undefined on success, else an error label (HTTP status, finish reason). */
type Send = () => Promise<string | undefined>;

/** Counts outcomes and latencies of one run. */
class Tally {
  ok = 0;
  errors: Record<string, number> = {};
  latencies: number[] = [];
  readonly started = performance.now();

  record(latency: number, error: string | undefined) {
    this.latencies.push(latency);
    if (error === undefined) this.ok++;
    else this.errors[error] = (this.errors[error] ?? 0) + 1;
  }

  finish(dropped?: number): DriveResult {
    const seconds = (performance.now() - this.started) / 1000;
    this.latencies.sort((a, b) => a - b);
    const r: DriveResult = {
      ok: this.ok,
      errors: this.errors,
      seconds,
      rps: this.ok / seconds,
      latencies: this.latencies,
    };
    if (dropped !== undefined) r.dropped = dropped;
    return r;
  }
}

async function closedLoop(send: Send, seconds: number, concurrency: number): Promise<DriveResult> {
  const tally = new Tally();
  const until = tally.started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const error = await send();
        tally.record(performance.now() - t0, error);
      }
    }),
  );
  return tally.finish();
}

/**
 * Starts one request per arrival; one that finds `concurrency` in flight is dropped, not queued.
 * Latency counts from the scheduled arrival, so a late timer or a busy event loop in this client
 * is in the figure, not hidden (no coordinated omission). Arrivals are checked when the timer
 * fires (≥ 1 ms granularity), so one due just before a completion may still get in, late.
 */
function openLoop(send: Send, arrivals: number[], concurrency: number): Promise<DriveResult> {
  const tally = new Tally();
  let next = 0;
  let inFlight = 0;
  let dropped = 0;
  return new Promise((resolve) => {
    const done = () => next === arrivals.length && inFlight === 0 && resolve(tally.finish(dropped));
    const start = (due: number) => {
      inFlight++;
      void send()
        .catch((err: unknown) => (err instanceof Error ? err.name : 'exception'))
        .then((error) => {
          tally.record(performance.now() - due, error);
          inFlight--;
          done();
        });
    };
    const tick = () => {
      const now = performance.now() - tally.started;
      for (; next < arrivals.length && arrivals[next] <= now; next++) {
        if (inFlight < concurrency) start(tally.started + arrivals[next]);
        else dropped++;
      }
      if (next < arrivals.length) setTimeout(tick, arrivals[next] - now);
      else done();
    };
    tick();
  });
}

function drive(send: Send, load: Load): Promise<DriveResult> {
  return load.arrivals
    ? openLoop(send, load.arrivals, load.concurrency)
    : closedLoop(send, load.seconds, load.concurrency);
}

/**
 * POSTs `body` to `url` with keep-alive connections; a non-200 or a body without choices is an
 * error. `body` may be a function of the request's sequence number (e.g. distinct prompts).
 */
export async function driveHttp(
  url: string,
  apiKey: string,
  body: unknown,
  load: Load,
): Promise<DriveResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.concurrency });
  const fixed = typeof body === 'function' ? null : Buffer.from(JSON.stringify(body));
  let seq = 0;
  const target = new URL(url);
  const one = () =>
    new Promise<number>((resolve) => {
      const payload = fixed ?? Buffer.from(JSON.stringify((body as (n: number) => unknown)(seq++)));
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${apiKey}`,
            'content-type': 'application/json',
            'content-length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) return resolve(res.statusCode ?? 0);
            try {
              const parsed = JSON.parse(Buffer.concat(chunks).toString()) as { choices?: unknown[] };
              resolve(parsed.choices?.length === 1 ? 200 : -1);
            } catch {
              resolve(-1);
            }
          });
        },
      );
      req.on('error', () => resolve(0));
      req.end(payload);
    });
  const result = await drive(async () => {
    const status = await one();
    return status === 200 ? undefined : String(status);
  }, load);
  agent.destroy();
  return result;
}

/** The same request straight to the engine: prompt token ids in, one token out. */
export function driveEngine(
  engine: EngineProvider,
  promptTokens: number[],
  maxTokens: number,
  load: Load,
): Promise<DriveResult> {
  return drive(async () => {
    let reason: string | undefined;
    for await (const ev of engine.generate({ promptTokens, sampling: { maxTokens, temperature: 0 } })) {
      if (ev.finished) reason = ev.reason;
    }
    return reason === 'length' || reason === 'stop' ? undefined : (reason ?? 'none');
  }, load);
}
