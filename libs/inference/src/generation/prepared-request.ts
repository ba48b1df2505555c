import type { UsageKind } from '@app/metering';
import { Lane } from '@app/common';
import { SamplingRequest } from '../api/sampling-params';
import { ModelDeployment } from '../models/model-deployment';
import { ToolUse } from '../api/tools-request';
import { Caller, ReservationHandle } from './accounting';
import { ChoiceSpec } from './choice-runner';

/** The prompt a choice answers (choices are the prompts' n-groups, in order). */
export function promptIndexOf(p: PreparedRequest, choiceIndex: number): number {
  return Math.floor(choiceIndex / p.sampling.n);
}

/** A validated, tokenized, admitted request ready to run on the engine. */
export interface PreparedRequest {
  /** The completion id; also the key of its usage event and reservation. */
  id: string;
  created: number;
  /** The served model's id (an alias's pick, or a fallback): the response's and usage's `model`. */
  model: string;
  deployment: ModelDeployment;
  lane: Lane;
  caller: Caller;
  sampling: SamplingRequest;
  /** Completions only: logprobs tokens as "token_id:<id>". */
  tokensAsIds: boolean;
  /** Chat with tools (tool_choice other than 'none'): choices may answer with a tool call. */
  tools?: ToolUse | null;
  /** Token ids of each prompt (chat: one). */
  prompts: number[][];
  /** Completions with echo: each prompt's text, which its choices' answers start with. */
  echo?: string[];
  /** Embeddings: how the vectors are returned. */
  embedding?: { encodingFormat: 'float' | 'base64'; dimensions?: number };
  choices: ChoiceSpec[];
  reservation: ReservationHandle;
  startedAt: Date;
  /** The request's `user` (OpenAI's end-user id), recorded on its usage event. */
  endUser: string | null;
  /** Recorded on its usage event: billed apart in the rollups. */
  usageKind: UsageKind;
  /** Aborts every choice (client disconnect). */
  abort: AbortController;
}
