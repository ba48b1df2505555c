import { ParsedArgs, UsageError } from '../args';
import { requestJson, targetFromArgs } from './chat-stream';
import { modelsInspect } from './models-inspect';

export const MODELS_HELP = `usage: llm-inference models list [--url URL] [--api-key KEY]
       llm-inference models inspect PATH [--tokens N] [--kv-dtype bf16|f16|f32|fp8]`;

/** `models list` (GET /v1/models on the server) and `models inspect PATH` (local files). */
export async function modelsCommand(args: ParsedArgs): Promise<unknown> {
  const sub = args.positional[1];
  if (sub === 'list') return requestJson(targetFromArgs(args), 'GET', '/v1/models');
  if (sub === 'inspect') return modelsInspect(args);
  throw new UsageError(MODELS_HELP);
}
