/**
 * The two closed-loop drivers of the gateway overhead benchmark: `concurrency` workers each send
 * one request after another for `seconds`, (a) over HTTP through the full gateway, (b) straight
 * to an EngineProvider in-process. Both record every latency.
 */
import { Agent, request } from 'node:http';
import { EngineProvider } from '@app/engine';

export interface DriveResult {
  ok: number;
  errors: Record<string, number>;
  seconds: number;
  rps: number;
  latencies: number[];
}

export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function finish(
  ok: number,
  errors: Record<string, number>,
  started: number,
  latencies: number[],
): DriveResult {
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { ok, errors, seconds, rps: ok / seconds, latencies };
}

/**
 * POSTs `body` to `url` with keep-alive connections; a non-200 or a body without choices is an
 * error. `body` may be a function of the request's sequence number (e.g. distinct prompts).
 */
export async function driveHttp(
  url: string,
  apiKey: string,
  body: unknown,
  seconds: number,
  concurrency: number,
): Promise<DriveResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
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
  let ok = 0;
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const status = await one();
        latencies.push(performance.now() - t0);
        if (status === 200) ok++;
        else errors[String(status)] = (errors[String(status)] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return finish(ok, errors, started, latencies);
}

/** The same request straight to the engine: prompt token ids in, one token out. */
export async function driveEngine(
  engine: EngineProvider,
  promptTokens: number[],
  maxTokens: number,
  seconds: number,
  concurrency: number,
): Promise<DriveResult> {
  let ok = 0;
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        let reason: string | undefined;
        for await (const ev of engine.generate({ promptTokens, sampling: { maxTokens, temperature: 0 } })) {
          if (ev.finished) reason = ev.reason;
        }
        latencies.push(performance.now() - t0);
        if (reason === 'length' || reason === 'stop') ok++;
        else errors[reason ?? 'none'] = (errors[reason ?? 'none'] ?? 0) + 1;
      }
    }),
  );
  return finish(ok, errors, started, latencies);
}
