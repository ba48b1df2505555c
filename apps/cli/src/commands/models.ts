import { ParsedArgs, UsageError } from '../args';
import { adminRequest } from './admin-client';
import { requestJson, targetFromArgs } from './chat-stream';
import { modelsDownload } from './models-download';
import { modelsInspect } from './models-inspect';

export const MODELS_HELP = `usage: llm-inference models list [--url URL] [--api-key KEY]
       llm-inference models inspect PATH [--tokens N] [--kv-dtype bf16|f16|f32|fp8]
       llm-inference models download OWNER/NAME [--revision main] [--out .data/models/NAME]
           [--endpoint URL] [--token T] [--include GLOB[,GLOB...]] [--no-progress]
           (endpoint default $HF_ENDPOINT, else https://huggingface.co; token default $HF_TOKEN)
       llm-inference models status [--url URL] [--token ADMIN_JWT]
       llm-inference models reload [--url URL] [--token ADMIN_JWT]
           (admin: each served model's engine and the routes; apply MODELS_FILE's aliases and
           fallbacks without a restart)`;

/**
 * `models list` (GET /v1/models on the server), `models inspect PATH` (local files),
 * `models download OWNER/NAME` (from a Hugging Face-compatible hub), and the admin `models status`
 * (GET /admin/models) and `models reload` (POST /admin/models/reload).
 */
export async function modelsCommand(args: ParsedArgs): Promise<unknown> {
  const sub = args.positional[1];
  if (sub === 'list') return requestJson(targetFromArgs(args), 'GET', '/v1/models');
  if (sub === 'inspect') return modelsInspect(args);
  if (sub === 'download') return modelsDownload(args);
  if (sub === 'status') return adminRequest(args, 'GET', '/admin/models');
  if (sub === 'reload') return adminRequest(args, 'POST', '/admin/models/reload');
  throw new UsageError(MODELS_HELP);
}
