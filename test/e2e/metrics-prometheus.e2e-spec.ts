import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@app/database';
import { parsePromText, sampleSum } from '@app/observability';
import { InferenceApp, ROOT, startInferenceApp } from './support/inference-app';

const TOKEN = 'metrics-e2e-token-0123456789';

/** Debian's prometheus binary: PROMETHEUS_BIN, PATH, or unpacked like scripts/ci/ops-checks.sh does. */
function prometheusBinary(): string {
  if (process.env.PROMETHEUS_BIN) return process.env.PROMETHEUS_BIN;
  const inPath = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
  if (inPath) return inPath;
  const tools =
    process.env.OPS_TOOLS_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'llm-ops-tools');
  const bin = join(tools, 'usr', 'bin', 'prometheus');
  if (existsSync(bin)) return bin;
  const work = mkdtempSync(join(tmpdir(), 'prom-deb-'));
  try {
    spawnSync('apt-get', ['download', '-qq', 'prometheus'], { cwd: work, stdio: 'ignore' });
    const deb = readdirSync(work).find((f) => f.startsWith('prometheus_') && f.endsWith('.deb'));
    if (deb) spawnSync('dpkg-deb', ['-x', join(work, deb), tools], { stdio: 'ignore' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!existsSync(bin))
    throw new Error(`prometheus not found: install Debian's prometheus or set PROMETHEUS_BIN`);
  return bin;
}

// A gateway with METRICS_BEARER_TOKEN and METRICS_TENANT_LABELS=false, scraped by a real
// Prometheus started from monitoring/prometheus.yml (scripts/ci/prometheus-scrape-check.sh).
describe('/metrics behind a bearer token, scraped by Prometheus', () => {
  let app: InferenceApp;

  beforeAll(async () => {
    app = await startInferenceApp('metricsprom', {
      METRICS_BEARER_TOKEN: TOKEN,
      METRICS_TENANT_LABELS: 'false',
    });
  }, 120_000);
  afterAll(() => app?.close());

  it('answers 401 (OpenAI error JSON) without the token or with a wrong one, 200 with it', async () => {
    const none = await app.request('GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({
      type: expect.any(String),
      message: expect.stringContaining('Bearer'),
    });
    expect((await app.request('GET', '/metrics', { token: 'wrong' })).status).toBe(401);
    expect((await app.request('GET', '/metrics', { token: TOKEN.slice(0, -1) })).status).toBe(401);
    const ok = await app.request('GET', '/metrics', { token: TOKEN });
    expect(ok.status).toBe(200);
    expect(sampleSum(parsePromText(ok.text), 'llm_engine_up')).toBe(1);
  });

  it('METRICS_TENANT_LABELS=false: tokens are counted, but no per-tenant series exist', async () => {
    const chat = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 4,
        ignore_eos: true,
      },
    });
    expect(chat.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500)); // metering's flush interval
    const samples = parsePromText((await app.request('GET', '/metrics', { token: TOKEN })).text);
    expect(sampleSum(samples, 'llm_generation_tokens_total', { model_name: 'tiny-llama' })).toBe(4);
    expect(samples.filter((s) => s.name === 'llm_tenant_tokens_total')).toEqual([]);
  });

  it('Prometheus from monitoring/prometheus.yml scrapes the gateway: up{job="llm-gateway"} == 1', async () => {
    const prometheus = prometheusBinary();
    const addr = app.baseUrl.replace('http://', '');
    const port = await freePort();
    // Asynchronously: the gateway under test runs in this process and must answer the scrapes.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', [join(ROOT, 'scripts', 'ci', 'prometheus-scrape-check.sh'), addr], {
        env: {
          ...process.env,
          PROMETHEUS_BIN: prometheus,
          PROM_PORT: String(port),
          METRICS_BEARER_TOKEN: TOKEN,
          TIMEOUT_S: '40',
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({
      status: 0,
      out: expect.stringMatching(
        /^up\{job="llm-gateway",instance="127\.0\.0\.1:\d+"\} = 1 \(\d+ series scraped\)/,
      ),
    });
  }, 90_000);
});
