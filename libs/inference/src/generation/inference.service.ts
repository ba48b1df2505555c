import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ApiError, Lane, laneForServiceTier } from '@app/common';
import { EngineProvider } from '@app/engine';
import type { UsageKind } from '@app/metering';
import { Metrics, ModelFallbackReason } from '@app/observability';
import { ChatRequest, parseChatRequest } from '../api/chat-request';
import { parseEmbeddingRequest } from '../api/embedding-request';
import { parseCompletionRequest, PromptInput } from '../api/completion-request';
import { invalid } from '../api/param-reader';
import { SamplingRequest } from '../api/sampling-params';
import { forcedCallSchema, forcedTools, toolCallSchema } from '../api/tools-request';
import { LaneRejection, QueueAbortedError } from '../lanes/lane-rejection';
import { Admission } from '../lanes/lane-scheduler';
import { ModelDeployment } from '../models/model-deployment';
import { ModelRegistry, ModelRoute } from '../models/model-registry';
import { requestedModel, requestedUser } from '../models/requested-model';
import { assertModelAllowed } from '../models/model-access';
import { Access, Accounting, ACCOUNTING, Caller, UsageRecord, UsageStatus } from './accounting';
import { ChoiceDelta, ChoiceResult, ChoiceSpec, runChoice } from './choice-runner';
import { newCompletionId } from './completion-id';
import { engineSampling } from './engine-sampling';
import { PreparedRequest } from './prepared-request';
import {
  GuardrailBlock,
  guardInputText,
  guardMessages,
  guardsInput,
  guardTokenPrompt,
  InputGuardReport,
} from '../guardrails/input-guard';

export type RequestKind = 'chat' | 'completion' | 'embedding';

/** The prefix of a request's id (`chatcmpl-...`), as OpenAI's objects have it. */
export function idPrefixOf(kind: RequestKind): string {
  return kind === 'chat' ? 'chatcmpl' : kind === 'embedding' ? 'embd' : 'cmpl';
}

/** One attempt at a routed model: the caller's access, and whether a fallback model follows. */
interface Route {
  access: Access;
  /** What the input guardrails did to this attempt's request. */
  guarded: InputGuardReport;
  /** The request's `user` (OpenAI's end-user id). */
  endUser?: string;
  fallbackLeft: boolean;
  /** With a fallback left: how long to wait in this model's lanes before trying it. */
  maxWaitMs?: number;
}

/** A chat request's tools as chat templates receive them (OpenAI's `tools[i]`). */
const templateTools = (req: ChatRequest) =>
  req.tools?.tools.map((t) => ({ type: 'function' as const, function: t }));

/** The 400 for a prompt of `longest` tokens (plus the max tokens asked for) over `limit`, or null. */
function contextRefusal(
  limit: number,
  longest: number,
  sampling: SamplingRequest,
  promptParam: string,
): ApiError | null {
  if (longest >= limit) {
    return invalid(
      promptParam,
      `This model's maximum context length is ${limit} tokens. However, your prompt has ${longest} tokens.`,
      'context_length_exceeded',
    );
  }
  if (sampling.maxTokens !== undefined && longest + sampling.maxTokens > limit) {
    return invalid(
      sampling.maxTokensParam,
      `This model's maximum context length is ${limit} tokens. However, you requested ${longest + sampling.maxTokens} tokens (${longest} in the prompt, ${sampling.maxTokens} in the completion).`,
      'context_length_exceeded',
    );
  }
  return null;
}

/** A request longer than the model's context: a model with a longer one may take it (context_fallbacks). */
export function exceedsContext(err: unknown): boolean {
  return (
    err instanceof ApiError && err.getStatus() === 400 && err.body.error.code === 'context_length_exceeded'
  );
}

/** The fallbacks a first refusal chose, those not tried yet, and which refusals go on to the next. */
interface FallbackChain {
  rest: ModelDeployment[];
  refusedAgain: (err: unknown) => boolean;
}

/** The fallbacks a first refusal chooses: overload → `fallbacks`, too long → `context_fallbacks`. */
function fallbackChain(err: unknown, routed: ModelRoute): FallbackChain | null {
  if (fallsBack(err) && routed.fallbacks.length > 0)
    return { rest: [...routed.fallbacks], refusedAgain: fallsBack };
  if (exceedsContext(err) && routed.contextFallbacks.length > 0)
    return { rest: [...routed.contextFallbacks], refusedAgain: exceedsContext };
  return null;
}

/** llm_model_fallbacks_total's reason for a refusal that falls back. */
function fallbackReason(err: unknown): ModelFallbackReason {
  if (exceedsContext(err)) return 'context_length';
  return (err as ApiError).body.error.code === 'engine_unavailable' ? 'unavailable' : 'overloaded';
}

/** Refusals that another served model may answer instead (MODELS_FILE fallbacks). */
function fallsBack(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.getStatus() !== 503) return false;
  const code = err.body.error.code;
  return code === 'server_overloaded' || code === 'engine_unavailable';
}

/**
 * The inference request path: model routing → template → tokens → quota reservation → lane
 * admission → engine → text; and on every exit: reservation commit/release and one usage event.
 */
@Injectable()
export class InferenceService {
  private readonly logger = new Logger('Guardrails');

  constructor(
    private readonly models: ModelRegistry,
    @Inject(ACCOUNTING) private readonly accounting: Accounting,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  async prepareChat(body: unknown, caller: Caller): Promise<PreparedRequest> {
    return this.onRoutedModel(body, caller, (model, route) => this.prepareChatOn(model, body, caller, route));
  }

  async prepareCompletion(body: unknown, caller: Caller): Promise<PreparedRequest> {
    return this.onRoutedModel(body, caller, (model, route) =>
      this.prepareCompletionOn(model, body, caller, route),
    );
  }

  /**
   * Whether a chat body's prompt (and max tokens) fits the context of the model it routes to:
   * the check prepareChat makes before admission, without admitting anything (the Responses
   * API's truncation 'auto' probes with it). A body the chat template refuses does not fit.
   */
  chatFitsContext(body: unknown, caller: Caller): boolean {
    const asked = requestedModel(body);
    const user = requestedUser(body);
    const model =
      asked === undefined
        ? this.models.primary
        : this.models.route(asked, { apiKeyId: caller.apiKeyId, user }).model;
    const req = parseChatRequest(body, model.text.vocabSize);
    let prompt: number[];
    try {
      prompt = model.text.chatTokens(req.messages, true, templateTools(req));
    } catch {
      return false;
    }
    return contextRefusal(model.maxModelLen(), prompt.length, req.sampling, 'messages') === null;
  }

  /** Prepares a request of any kind (the batch runner's entry point). */
  async prepareKind(kind: RequestKind, body: unknown, caller: Caller): Promise<PreparedRequest> {
    if (kind === 'chat') return this.prepareChat(body, caller);
    if (kind === 'completion') return this.prepareCompletion(body, caller);
    return this.prepareEmbeddings(body, caller);
  }

  /** POST /v1/embeddings: each input runs as one engine sequence that returns its vector. */
  async prepareEmbeddings(body: unknown, caller: Caller): Promise<PreparedRequest> {
    return this.onRoutedModel(body, caller, (model, route) =>
      this.prepareEmbeddingsOn(model, body, caller, route),
    );
  }

  /**
   * Prepares the request on the model its `model` routes to. When that one refuses it, the
   * refusal picks a list: overloaded or down (503 before any output) → its `fallbacks`; the
   * request exceeds its context length → its `context_fallbacks`. Those are tried in order while
   * they refuse the same way; the last refusal answers, and only it is billed (as rejected).
   * A model the caller's policy does not list (allowed_models) is a 404, as OpenAI answers it.
   */
  private async onRoutedModel(
    body: unknown,
    caller: Caller,
    prepareOn: (model: ModelDeployment, route: Route) => Promise<PreparedRequest>,
  ): Promise<PreparedRequest> {
    const access = await this.accounting.access(caller);
    const asked = requestedModel(body);
    if (asked !== undefined) assertModelAllowed(access, asked);
    const endUser = requestedUser(body);
    if (access.requireUser && !endUser)
      throw invalid(
        'user',
        "This API key's policy requires 'user' (an id of the end user, e.g. a hash) on every request.",
        'missing_required_parameter',
      );
    const routed: ModelRoute =
      asked === undefined
        ? { model: this.models.primary, fallbacks: [], contextFallbacks: [] }
        : this.models.route(asked, { apiKeyId: caller.apiKeyId, user: endUser });
    let model = routed.model;
    let chain: FallbackChain | null = null; // set by the first refusal
    for (;;) {
      // Whether an overload refusal of this attempt is followed by another model (then it is not billed).
      const fallbackLeft = chain
        ? chain.refusedAgain === fallsBack && chain.rest.length > 0
        : routed.fallbacks.length > 0;
      const guarded: InputGuardReport = { piiRedacted: 0 };
      try {
        const prepared = await prepareOn(model, {
          access,
          guarded,
          endUser,
          fallbackLeft,
          ...(fallbackLeft ? { maxWaitMs: routed.fallbackWaitMs } : {}),
        });
        this.metrics?.guardrailTriggered(
          { guardrail: 'pii', direction: 'input', action: 'redact' },
          guarded.piiRedacted,
        );
        return prepared;
      } catch (err) {
        if (err instanceof GuardrailBlock) {
          this.metrics?.guardrailTriggered({ guardrail: err.guardrail, direction: 'input', action: 'block' });
          // Who was refused and by which check; never the text.
          this.logger.warn(
            `${err.guardrail} refused a request of tenant ${caller.tenantId}, key ${caller.apiKeyId} (${err.body.error.param})`,
          );
        }
        chain ??= fallbackChain(err, routed);
        if (!chain || !chain.refusedAgain(err) || chain.rest.length === 0) throw err;
        const next = chain.rest.shift()!;
        this.metrics?.modelFellBack(model.id, next.id, fallbackReason(err));
        model = next;
      }
    }
  }

  private async prepareChatOn(
    model: ModelDeployment,
    body: unknown,
    caller: Caller,
    route: Route,
  ): Promise<PreparedRequest> {
    const { text } = model;
    const req = parseChatRequest(body, text.vocabSize);
    if (!text.hasChatTemplate)
      throw invalid('messages', 'This model has no chat template; use /v1/completions.');
    const tools = req.tools && req.tools.choice !== 'none' ? req.tools : null;
    const guards = route.access.guardrails;
    const messages = guardsInput(guards) ? guardMessages(req.messages, guards, route.guarded) : req.messages;
    let prompt: number[];
    try {
      prompt = text.chatTokens(messages, true, templateTools(req));
    } catch (err) {
      // The template's own raise_exception (e.g. Llama 3.1: one tool call per turn) is a bad request.
      throw invalid('messages', `The model's chat template refused these messages: ${errorText(err)}`);
    }
    const forced = tools ? forcedTools(tools) : [];
    // A forced call is decoded under its JSON Schema, so it always parses into a tool's arguments.
    let sampling: SamplingRequest = req.sampling;
    if (forced.length > 0) {
      const check = (schema: string) => model.engine.checkJsonSchema?.(schema) ?? null;
      for (const tool of forced) {
        const why = check(JSON.stringify(toolCallSchema(tool)));
        if (why)
          throw invalid(
            `tools[${tools!.tools.indexOf(tool)}].function.parameters`,
            why,
            'unsupported_parameter',
          );
      }
      const schema = JSON.stringify(forcedCallSchema(forced));
      const why = forced.length > 1 ? check(schema) : null;
      if (why) throw invalid('tools', why, 'unsupported_parameter');
      const name = forced.length === 1 ? forced[0].name : 'tool_call';
      sampling = { ...req.sampling, responseFormat: { type: 'json_schema', name, schema } };
    }
    const p = await this.prepare(model, 'chat', [prompt], sampling, caller, 'messages', false, route);
    p.tools = tools;
    return p;
  }

  private async prepareCompletionOn(
    model: ModelDeployment,
    body: unknown,
    caller: Caller,
    route: Route,
  ): Promise<PreparedRequest> {
    const { text } = model;
    const req = parseCompletionRequest(body, text.vocabSize);
    const { inputs, prompts } = this.guardedPrompts(req.prompts, model, route, 'prompt');
    if (req.sampling.promptLogprobs !== null && !model.engine.promptLogprobs) {
      throw invalid(
        'echo',
        "'echo' with 'logprobs' (prompt scores) is not supported by this engine provider.",
        'unsupported_parameter',
      );
    }
    const p = await this.prepare(
      model,
      'completion',
      prompts,
      req.sampling,
      caller,
      'prompt',
      req.tokensAsIds,
      route,
    );
    if (req.echo) p.echo = inputs.map((q: PromptInput) => ('text' in q ? q.text : text.decode(q.tokens)));
    return p;
  }

  private async prepareEmbeddingsOn(
    model: ModelDeployment,
    body: unknown,
    caller: Caller,
    route: Route,
  ): Promise<PreparedRequest> {
    const { text } = model;
    const req = parseEmbeddingRequest(body, text.vocabSize);
    const info = model.engine.info();
    if (!info.embeddings)
      throw invalid(
        'model',
        `The model '${model.id}' does not serve embeddings (its engine: ${info.backend}).`,
        'model_not_supported',
      );
    if (req.dimensions !== undefined && req.dimensions > info.hiddenSize)
      throw invalid(
        'dimensions',
        `'dimensions' may be at most ${info.hiddenSize} for the model '${model.id}'.`,
      );
    const { prompts } = this.guardedPrompts(req.inputs, model, route, 'input');
    const p = await this.prepare(model, 'embedding', prompts, req.sampling, caller, 'input', false, route);
    for (const c of p.choices) c.request.embed = true;
    p.embedding = { encodingFormat: req.encodingFormat, dimensions: req.dimensions };
    return p;
  }

  /**
   * Completions prompts (or embeddings inputs, `name`) through the input guardrails, and their
   * token ids: text tokenized with BOS, ids as given.
   */
  private guardedPrompts(
    list: PromptInput[],
    model: ModelDeployment,
    route: Route,
    name: string,
  ): { inputs: PromptInput[]; prompts: number[][] } {
    const inputs = guardsInput(route.access.guardrails)
      ? list.map((p, i) => this.guardPrompt(p, list.length > 1 ? `${name}[${i}]` : name, model, route))
      : list;
    const prompts = inputs.map((p) => ('tokens' in p ? p.tokens : model.text.promptTokens(p.text, true)));
    return { inputs, prompts };
  }

  /** One prompt through the input guardrails (token ids are checked as their text). */
  private guardPrompt(p: PromptInput, param: string, model: ModelDeployment, route: Route): PromptInput {
    const guards = route.access.guardrails;
    if ('text' in p) return { text: guardInputText(p.text, guards, param, true, route.guarded) };
    guardTokenPrompt(model.text.decode(p.tokens), guards, param);
    return p;
  }

  private chooseLane(sampling: SamplingRequest, { lanes: allowed, defaultLane }: Access): Lane {
    const asked = sampling.serviceTier === undefined ? defaultLane : laneForServiceTier(sampling.serviceTier);
    if (asked && allowed.includes(asked)) return asked;
    // Capped by what the tenant may use: the best allowed lane not above the asked one.
    const order: Lane[] = ['interactive', 'standard', 'batch'];
    const from = asked ? order.indexOf(asked) : 1;
    return order.slice(from).find((l) => allowed.includes(l)) ?? allowed[allowed.length - 1] ?? 'batch';
  }

  private async prepare(
    deployment: ModelDeployment,
    kind: RequestKind,
    prompts: number[][],
    sampling: SamplingRequest,
    caller: Caller,
    promptParam: string,
    tokensAsIds: boolean,
    route: Route,
  ): Promise<PreparedRequest> {
    const engine = deployment.engine;
    const { files } = deployment;
    const model = deployment.id;
    const lanes = deployment.lanes;
    if (sampling.responseFormat.type === 'json_schema') {
      // Refused here, before admission and billing, when the engine cannot decode to it.
      const why = engine.checkJsonSchema?.(sampling.responseFormat.schema) ?? null;
      if (why) throw invalid('response_format.json_schema.schema', why, 'unsupported_parameter');
    }
    if (route.access.guardrails.piiOutput === 'redact' && sampling.logprobs !== null)
      // The tokens' own text would show what the redaction hides.
      throw invalid(
        'logprobs',
        'logprobs are not available to this API key: its policy redacts personal data from the output (pii_output: redact).',
        'unsupported_parameter',
      );
    const limit = deployment.maxModelLen();
    const longest = Math.max(...prompts.map((p) => p.length));
    const tooLong = contextRefusal(limit, longest, sampling, promptParam);
    if (tooLong) throw tooLong;
    const total = prompts.length * sampling.n;
    // Up to the engine's capacity, every sequence is admitted before the request starts (all or
    // none, a 429/503 up front). Larger requests run in waves: execute() admits each sequence as
    // a slot frees, with at most `capacity` of them in flight.
    const inWaves = total > lanes.capacity;
    const maxTokens = sampling.maxTokens ?? limit - longest;
    const lane = this.chooseLane(sampling, route.access);
    const promptTokens = prompts.reduce((s, p) => s + p.length, 0);
    const startedAt = new Date();
    // Usage and engine ids are made here, never taken from the client's x-request-id: a repeated
    // client id would merge two requests into one usage event (exactly-once keys) and clash in the engine.
    const id = caller.requestId ?? newCompletionId(idPrefixOf(kind));
    const usageKind: UsageKind = kind === 'embedding' ? 'embedding' : 'generation';
    const base = {
      requestId: id,
      tenantId: caller.tenantId,
      apiKeyId: caller.apiKeyId,
      model,
      lane,
      startedAt,
      endUser: route.endUser ?? null,
      kind: usageKind,
    };
    const reservation = await this.accounting
      .reserve({
        requestId: id,
        tenantId: caller.tenantId,
        apiKeyId: caller.apiKeyId,
        lane,
        promptTokens,
        maxTokens: maxTokens * total,
        endUser: route.endUser,
      })
      .catch((err: unknown) => {
        this.recordRejected(base);
        throw err;
      });
    const abort = new AbortController();
    const admissions: Admission[] = [];
    try {
      const wanted = (inWaves ? [] : prompts).flatMap((p) =>
        Array.from({ length: sampling.n }, () =>
          lanes.acquire({
            tenantId: caller.tenantId,
            lane,
            cost: p.length + maxTokens,
            signal: abort.signal,
            maxWaitMs: route.maxWaitMs,
          }),
        ),
      );
      const settled = await Promise.allSettled(wanted);
      for (const s of settled) if (s.status === 'fulfilled') admissions.push(s.value);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      for (const a of admissions) a.release(0);
      await reservation.release();
      const refusal = laneApiError(err);
      // A refusal another model will answer is not a request of its own in usage.
      if (!route.fallbackLeft || !fallsBack(refusal)) this.recordRejected(base);
      throw refusal;
    }
    // Admitted: from here on a crash must still bill the prompt and what is generated (the choices
    // count their tokens into the marker; settle() records the real figures).
    const marker: UsageRecord = {
      ...base,
      promptTokens,
      cachedTokens: 0,
      completionTokens: 0,
      status: 'error',
      ttftMs: null,
      durationMs: 0,
      endedAt: startedAt,
    };
    this.accounting.open(marker);
    const choices = Array.from({ length: total }, (_, i): ChoiceSpec => {
      const promptIdx = Math.floor(i / sampling.n);
      const admission = admissions[i] ?? null;
      return {
        index: i,
        requestId: `${id}-${i}`,
        stop: sampling.stop,
        admission,
        admissionCost: prompts[promptIdx].length + maxTokens,
        signal: abort.signal,
        usage: marker,
        guardrails: route.access.guardrails,
        request: {
          id: `${id}-${i}`,
          promptTokens: prompts[promptIdx],
          priority: admission?.priority ?? 0,
          cacheSalt: caller.tenantId,
          sampling: engineSampling(sampling, files.generation, maxTokens, i % sampling.n),
        },
      };
    });
    return {
      id,
      created: Math.floor(Date.now() / 1000),
      model,
      deployment,
      lane,
      caller,
      sampling,
      tokensAsIds,
      prompts,
      choices,
      reservation,
      startedAt,
      endUser: base.endUser,
      usageKind,
      abort,
    };
  }

  /** Runs every choice; deltas go to `emit` as they come. Accounting is settled before it resolves. */
  async execute(p: PreparedRequest, emit: (d: ChoiceDelta) => void): Promise<ChoiceResult[]> {
    let results: ChoiceResult[] = [];
    try {
      // Inside the try: an engine lost since prepare() still settles the reservation and usage.
      const engine = p.deployment.engine;
      results = await this.runChoices(engine, p, emit);
    } finally {
      await this.settle(p, results);
    }
    return results;
  }

  /**
   * Every choice, in index order of results. Admitted choices all start at once; a request run in
   * waves has min(choices, capacity) workers that each admit their next choice when the previous
   * one has released its slot (never holding one slot while waiting for another). Once one
   * admission is refused, the choices not yet started are not run and carry that error.
   */
  private async runChoices(
    engine: EngineProvider,
    p: PreparedRequest,
    emit: (d: ChoiceDelta) => void,
  ): Promise<ChoiceResult[]> {
    const results: ChoiceResult[] = new Array<ChoiceResult>(p.choices.length);
    let next = 0;
    let refused: ApiError | undefined;
    const worker = async (): Promise<void> => {
      while (next < p.choices.length) {
        const spec = p.choices[next++];
        if (!spec.admission && !refused && !p.abort.signal.aborted) {
          try {
            spec.admission = await p.deployment.lanes.acquire({
              tenantId: p.caller.tenantId,
              lane: p.lane,
              cost: spec.admissionCost,
              signal: p.abort.signal,
            });
            spec.request.priority = spec.admission.priority;
          } catch (err) {
            refused ??= laneApiError(err);
          }
        }
        results[spec.index] = spec.admission
          ? await runChoice(engine, p.deployment.text, spec, emit)
          : notRun(spec, p.abort.signal.aborted ? undefined : refused);
      }
    };
    const workers = Math.min(p.choices.length, p.deployment.lanes.capacity);
    await Promise.all(Array.from({ length: Math.max(workers, 1) }, worker));
    return results;
  }

  /** Prompt tokens of the prompts that ran; cached prompt tokens: per prompt, its first run choice's. */
  promptTotals(p: PreparedRequest, results: ChoiceResult[]): { prompt: number; cached: number } {
    let prompt = 0;
    let cached = 0;
    for (let i = 0; i < results.length; i += p.sampling.n) {
      const first = results.slice(i, i + p.sampling.n).find((r) => !r.notRun);
      if (!first) continue;
      prompt += p.prompts[i / p.sampling.n].length;
      cached += first.cachedTokens;
    }
    return { prompt, cached };
  }

  private async settle(p: PreparedRequest, results: ChoiceResult[]): Promise<void> {
    const completion = results.reduce((s, r) => s + r.completionTokens, 0);
    this.metrics?.guardrailTriggered(
      { guardrail: 'pii', direction: 'output', action: 'redact' },
      results.reduce((s, r) => s + r.piiRedacted, 0),
    );
    this.metrics?.guardrailTriggered(
      { guardrail: 'blocked_terms', direction: 'output', action: 'block' },
      results.filter((r) => r.finishReason === 'content_filter').length,
    );
    const { prompt, cached } = this.promptTotals(p, results);
    let status: UsageStatus = 'completed';
    if (p.abort.signal.aborted || results.some((r) => r.finishReason === 'abort')) status = 'aborted';
    // Refused before any sequence ran (a request in waves): as a refusal up front would be.
    else if (results.length > 0 && results.every((r) => r.notRun && r.apiError)) status = 'rejected';
    else if (results.length === 0 || results.some((r) => r.finishReason === 'error')) status = 'error';
    try {
      await p.reservation.commit(prompt + completion);
    } catch {
      // Accounting problems never fail a finished generation.
    }
    const firsts = results.map((r) => r.firstTokenAt).filter((t): t is number => t !== null);
    const endedAt = new Date();
    this.accounting.record({
      requestId: p.id,
      tenantId: p.caller.tenantId,
      apiKeyId: p.caller.apiKeyId,
      model: p.model,
      lane: p.lane,
      promptTokens: prompt,
      cachedTokens: cached,
      completionTokens: completion,
      status,
      ttftMs: firsts.length ? Math.min(...firsts) - p.startedAt.getTime() : null,
      durationMs: endedAt.getTime() - p.startedAt.getTime(),
      startedAt: p.startedAt,
      endedAt,
      endUser: p.endUser,
      kind: p.usageKind,
    });
  }

  private recordRejected(b: {
    requestId: string;
    tenantId: string;
    apiKeyId: string;
    model: string;
    lane: Lane;
    startedAt: Date;
    endUser: string | null;
    kind: UsageKind;
  }): void {
    const endedAt = new Date();
    this.accounting.record({
      ...b,
      promptTokens: 0,
      cachedTokens: 0,
      completionTokens: 0,
      status: 'rejected',
      ttftMs: null,
      durationMs: endedAt.getTime() - b.startedAt.getTime(),
      endedAt,
    });
  }
}

/** A lane refusal as the API error it answers with (429 over the tenant's share, else 503). */
function laneApiError(err: unknown): ApiError {
  if (err instanceof LaneRejection) {
    return new ApiError(err.status, err.message, {
      code: err.status === 429 ? 'rate_limit_exceeded' : 'server_overloaded',
      type: err.status === 429 ? 'rate_limit_error' : 'server_error',
      headers: { 'retry-after': String(err.retryAfterS) },
    });
  }
  if (err instanceof QueueAbortedError) return ApiError.unavailable('The request was aborted.', 'aborted');
  if (err instanceof ApiError) return err;
  return new ApiError(500, err instanceof Error ? err.message : String(err));
}

/** The result of a choice that never reached the engine (its wave was refused or the client left). */
function notRun(spec: ChoiceSpec, refused: ApiError | undefined): ChoiceResult {
  return {
    index: spec.index,
    text: '',
    finishReason: refused ? 'error' : 'abort',
    error: refused?.message,
    apiError: refused,
    notRun: true,
    promptTokens: spec.request.promptTokens.length,
    cachedTokens: 0,
    completionTokens: 0,
    firstTokenAt: null,
    piiRedacted: 0,
    promptLogprobs: [],
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
