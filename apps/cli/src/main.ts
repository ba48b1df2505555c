import { parseArgs, UsageError } from './args';
import { adminToken } from './commands/admin-token';
import { benchCommand, BENCH_LOAD_HELP } from './commands/bench-load';
import { batchCommand, BATCH_HELP } from './commands/batch';
import { batchesCommand, BATCHES_HELP } from './commands/batches';
import { chatCommand, CHAT_HELP } from './commands/chat';
import { modelsCommand, MODELS_HELP } from './commands/models';
import { quotaCommand, QUOTA_HELP } from './commands/quota';
import { dbMigrate, dbRollback } from './commands/db-migrate';
import { gpuCommand } from './commands/gpu';
import { keysCommand, tenantsCommand } from './commands/tenants-keys';
import { usageCommand } from './commands/usage-report';

const USAGE = `llm-inference <command>

  admin token --sub NAME [--role admin|tenant_admin] [--tenant TENANT_ID] [--ttl 1h] [--secret S]
      Mint an admin JWT with the configured secret (ADMIN_JWT_SECRET or .data/admin-jwt-secret).
  tenants create --name NAME | list [--limit N --offset N] | suspend --tenant ID | activate --tenant ID
  keys create --tenant ID [--name N] [--scopes a,b] [--expires-at ISO] | list --tenant ID
       | revoke --tenant ID --key KEY_ID | rotate --tenant ID --key KEY_ID [--grace-seconds N]
      Server commands take --url (default http://127.0.0.1:$PORT) and --token (default: a
      short-lived admin token minted with the local secret).
  usage report [--tenant ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by day,model,key,lane,kind] [--format json|csv]
      Usage report from GET /admin/usage (inclusive UTC days; CSV has a stable header row).
  quota get|set --tenant ID [--key KEY_ID] [--allowed-models M,...] [--pii-input redact] [--requests-per-minute N] ...
      A tenant's or key's quota policy (\`llm-inference quota --help\` lists every field).
  db migrate | rollback [--steps 1]
      Apply pending database migrations, or undo the last ones (before running an older version).
  chat --api-key KEY [--url URL] [--model M] [--system TEXT] [--max-tokens N] [--temperature T]
      Interactive streaming chat with the server.
  batch --input prompts.jsonl --output results.jsonl --api-key KEY [--concurrency N]
      OpenAI batch-style JSONL through the server; resumable (done custom_ids are skipped).
  batches submit --input requests.jsonl --api-key KEY [--wait --output results.jsonl [--errors F]]
        | status ID | list | cancel ID | download ID --output F
      The same file as a server-side batch (/v1/batches): run in the batch lane, no client needed.
  models list [--url URL --api-key KEY] | inspect PATH [--tokens N] [--kv-dtype bf16]
         | download OWNER/NAME [--revision R] [--out DIR] [--endpoint URL] [--token T]
         | status | reload   (admin: engines and routes; re-read MODELS_FILE: models and routes)
      Served models; parameters and memory (weights + KV cache) of a local model directory;
      or fetch a model (safetensors) from a Hugging Face-compatible hub, resumable.
  bench load --api-key KEY [--requests N --concurrency C --rate R --stream --output F --html F ...]
      Load test (TTFT, TPOT, ITL, e2e percentiles, throughput, goodput); loopback only unless
      --allow-remote. \`llm-inference bench load --help\` lists every option.
  gpu [--url URL] [--token METRICS_BEARER_TOKEN] [--interval SECONDS] [--once]
      Live terminal view of the GPUs (NVML) and engine stats from the server's /metrics.
`;

async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const [command, sub] = args.positional;
  let output: unknown;
  if (command === 'admin' && sub === 'token') output = adminToken(args);
  else if (command === 'tenants') output = await tenantsCommand(args);
  else if (command === 'keys') output = await keysCommand(args);
  else if (command === 'db' && sub === 'migrate') output = await dbMigrate();
  else if (command === 'db' && sub === 'rollback') output = await dbRollback(args);
  else if (command === 'usage') output = await usageCommand(args);
  else if (command === 'quota' && args.flags.help) output = QUOTA_HELP;
  else if (command === 'quota') output = await quotaCommand(args);
  else if (command === 'bench' && args.flags.help) output = BENCH_LOAD_HELP;
  else if (command === 'chat' && args.flags.help) output = CHAT_HELP;
  else if (command === 'chat') output = await chatCommand(args);
  else if (command === 'batch' && args.flags.help) output = BATCH_HELP;
  else if (command === 'batch') output = await batchCommand(args);
  else if (command === 'batches' && (args.flags.help || !sub)) output = BATCHES_HELP;
  else if (command === 'batches') output = await batchesCommand(args);
  else if (command === 'models' && args.flags.help) output = MODELS_HELP;
  else if (command === 'models') output = await modelsCommand(args);
  else if (command === 'bench') output = await benchCommand(args);
  else if (command === 'gpu') output = await gpuCommand(args);
  else if (!command || command === 'help' || args.flags.help) {
    process.stdout.write(USAGE);
    return;
  } else throw new UsageError(`unknown command: ${args.positional.join(' ')}\n\n${USAGE}`);
  process.stdout.write((typeof output === 'string' ? output : JSON.stringify(output, null, 2)) + '\n');
}

run(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`llm-inference: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
