/**
 * A throwaway gateway for load tests and demos: the real gateway on a fresh Postgres database
 * with the native engine on the tiny fixture model (CPU), one tenant and API key. Prints
 * `READY <url> <api-key>` and runs until SIGINT/SIGTERM (then drops the database).
 *
 *   node -r ./test/e2e/metering-support/register-ts.cjs bench/load/serve-tiny.ts [--max-num-seqs 16]
 */
import 'reflect-metadata';
import { startInferenceApp } from '../../test/e2e/support/inference-app';

async function main() {
  const i = process.argv.indexOf('--max-num-seqs');
  const maxNumSeqs = i > 0 ? Number(process.argv[i + 1]) : 16;
  const app = await startInferenceApp('serve_tiny', {}, { maxNumSeqs });
  // Lift the tenant's limits so a load test measures the engine, not the quota defaults.
  const { Client } = await import('pg');
  const c = new Client({ connectionString: app.db.url });
  await c.connect();
  const [{ tenant_id }] = (await c.query('SELECT tenant_id FROM api_keys LIMIT 1')).rows;
  await c.end();
  const put = await app.request('PUT', `/admin/tenants/${tenant_id}/quota`, {
    token: app.token('admin'),
    body: { requests_per_minute: 1_000_000, max_concurrent: 10_000, tokens_per_minute: 1_000_000_000 },
  });
  if (put.status !== 200) throw new Error(`quota: ${put.status} ${put.text}`);
  process.stdout.write(`READY ${app.baseUrl} ${app.apiKey} ${app.db.url}\n`);
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`serve-tiny failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
