import OpenAI from 'openai';
import { Client } from 'pg';
import { ResponsesStore } from '@app/responses';
import { InferenceApp, startInferenceApp, usageRow } from './support/inference-app';

// POST /v1/responses (OpenAI's Responses API) through the official openai client and raw HTTP:
// real gateway, real Postgres, real native engine, tiny model. A response runs as a chat
// completion, so each is checked against the chat completion of the same messages (greedy).
describe('Responses API (tiny model)', () => {
  let app: InferenceApp;
  let client: OpenAI;
  const model = 'tiny-llama';

  beforeAll(async () => {
    app = await startInferenceApp('responses', { RATE_LIMIT: '100000/minute' });
    client = new OpenAI({ apiKey: app.apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  }, 120_000);
  afterAll(() => app?.close());

  type Msg = { role: 'system' | 'user' | 'assistant'; content: string };
  /** The greedy chat completion of `messages`: the text and prompt tokens a response must match. */
  const chatOf = async (messages: Msg[], maxTokens: number) => {
    const c = await client.chat.completions.create({
      model,
      messages,
      max_tokens: maxTokens,
      temperature: 0,
    });
    return { text: c.choices[0].message.content ?? '', promptTokens: c.usage!.prompt_tokens };
  };
  const usageEvents = async (requestId: string) => {
    const c = new Client({ connectionString: app.db.url });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT count(*)::int AS n FROM usage_events WHERE request_id = $1', [
        requestId,
      ]);
      return rows[0].n as number;
    } finally {
      await c.end();
    }
  };
  const post = (body: object, apiKey = app.apiKey) => app.request('POST', '/v1/responses', { apiKey, body });

  it('a response is the chat completion of instructions + input; usage billed once under its id; stored', async () => {
    const r = await client.responses.create({
      model,
      instructions: 'Answer briefly.',
      input: 'Hello there',
      max_output_tokens: 8,
      temperature: 0,
      metadata: { ticket: '42' },
    });
    expect(r).toMatchObject({
      object: 'response',
      model,
      instructions: 'Answer briefly.',
      max_output_tokens: 8,
      metadata: { ticket: '42' },
      previous_response_id: null,
      store: true,
      error: null,
    });
    expect(r.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant' });
    const chat = await chatOf(
      [
        { role: 'system', content: 'Answer briefly.' },
        { role: 'user', content: 'Hello there' },
      ],
      8,
    );
    expect(r.output_text).toBe(chat.text);
    expect(r.usage).toMatchObject({
      input_tokens: chat.promptTokens,
      output_tokens_details: { reasoning_tokens: 0 },
    });
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    // 8 tokens without an end of text: incomplete, as OpenAI reports a cut at max_output_tokens.
    if (r.usage!.output_tokens === 8) {
      expect(r.status).toBe('incomplete');
      expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    } else expect(r.status).toBe('completed');

    const row = await usageRow(app, r.id);
    expect(await usageEvents(r.id)).toBe(1);
    expect(row).toMatchObject({
      model,
      kind: 'generation',
      prompt_tokens: r.usage!.input_tokens,
      completion_tokens: r.usage!.output_tokens,
    });

    expect(await client.responses.retrieve(r.id)).toEqual(JSON.parse(JSON.stringify(r)));
    const items = await client.responses.inputItems.list(r.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({
      type: 'message',
      role: 'user',
      content: [{ type: 'input_text', text: 'Hello there' }],
    });
  });

  it('previous_response_id continues the conversation (its input and output, not its instructions)', async () => {
    const first = await client.responses.create({
      model,
      instructions: 'Not carried over.',
      input: [{ role: 'user', content: 'Pick a color' }],
      max_output_tokens: 6,
      temperature: 0,
    });
    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      input: 'Why that one?',
      max_output_tokens: 6,
      temperature: 0,
    });
    const chat = await chatOf(
      [
        { role: 'user', content: 'Pick a color' },
        { role: 'assistant', content: first.output_text },
        { role: 'user', content: 'Why that one?' },
      ],
      6,
    );
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(chat.text);
    expect(second.usage!.input_tokens).toBe(chat.promptTokens);

    // The chain's items, oldest first with order=asc; pages by `after`.
    const asc = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(asc.data.map((i) => ('role' in i ? i.role : i.type))).toEqual(['user', 'assistant', 'user']);
    expect(asc.data[1].id).toBe(first.output[0].id);
    const page = await app.request(
      'GET',
      `/v1/responses/${second.id}/input_items?limit=1&after=${asc.data[2].id}`,
      { apiKey: app.apiKey },
    );
    expect(page.body).toMatchObject({ object: 'list', has_more: true, data: [{ id: asc.data[1].id }] });

    // Deleting the first leaves the second's chain whole (it holds its own copy).
    expect(await client.responses.delete(first.id)).toEqual({
      id: first.id,
      object: 'response',
      deleted: true,
    });
    expect((await app.request('GET', `/v1/responses/${first.id}`, { apiKey: app.apiKey })).status).toBe(404);
    const third = await post({ model, previous_response_id: second.id, input: 'ok', max_output_tokens: 2 });
    expect(third.status).toBe(200);
    expect((await client.responses.inputItems.list(third.body.id)).data).toHaveLength(5);
    expect((await app.request('DELETE', `/v1/responses/${first.id}`, { apiKey: app.apiKey })).status).toBe(
      404,
    );
  });

  it('stored responses expire RESPONSES_RETENTION_DAYS after creation; the retention job deletes them', async () => {
    const old = await post({ model, input: 'old', max_output_tokens: 2 });
    const fresh = await post({ model, input: 'fresh', max_output_tokens: 2 });
    const c = new Client({ connectionString: app.db.url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT expires_at - created_at AS kept FROM responses WHERE id = $1`, [
        fresh.body.id,
      ]);
      expect(rows[0].kept).toMatchObject({ days: 30 }); // RESPONSES_RETENTION_DAYS
      await c.query(`UPDATE responses SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        old.body.id,
      ]);
    } finally {
      await c.end();
    }
    // Past its expiry it is gone for the API at once, and for the table at the next prune.
    expect((await app.request('GET', `/v1/responses/${old.body.id}`, { apiKey: app.apiKey })).status).toBe(
      404,
    );
    expect(await app.app.get(ResponsesStore).prune()).toBe(1);
    expect((await client.responses.retrieve(fresh.body.id)).id).toBe(fresh.body.id);
    expect(await app.app.get(ResponsesStore).prune()).toBe(0);
  });

  it("store: false is not kept; another tenant sees none of a tenant's responses", async () => {
    const unstored = await post({ model, input: 'x', max_output_tokens: 2, store: false });
    expect(unstored.status).toBe(200);
    expect(unstored.body.store).toBe(false);
    const gone = await app.request('GET', `/v1/responses/${unstored.body.id}`, { apiKey: app.apiKey });
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'not_found' });
    const chained = await post({ model, input: 'y', previous_response_id: unstored.body.id });
    expect(chained.status).toBe(404);
    expect(chained.body.error).toMatchObject({ param: 'previous_response_id' });

    const mine = await post({ model, input: 'mine', max_output_tokens: 2 });
    const other = await app.newTenantKey('responses-other');
    for (const [method, path] of [
      ['GET', `/v1/responses/${mine.body.id}`],
      ['GET', `/v1/responses/${mine.body.id}/input_items`],
      ['DELETE', `/v1/responses/${mine.body.id}`],
    ] as const)
      expect((await app.request(method, path, { apiKey: other })).status).toBe(404);
    expect((await post({ model, input: 'z', previous_response_id: mine.body.id }, other)).status).toBe(404);
    expect((await app.request('GET', `/v1/responses/${mine.body.id}`, { apiKey: app.apiKey })).status).toBe(
      200,
    );
  });

  it("stream: OpenAI's event sequence; the deltas add up to the stored response; billed once", async () => {
    const stream = await client.responses.create({
      model,
      input: 'Tell me a story',
      max_output_tokens: 12,
      temperature: 0,
      stream: true,
    });
    const events: { type: string; sequence_number: number; delta?: string; response?: { id: string } }[] = [];
    for await (const e of stream) events.push(e as (typeof events)[number]);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4, -1)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
    ]);
    expect(['response.completed', 'response.incomplete']).toContain(types[types.length - 1]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    const final = (events[events.length - 1] as unknown as { response: OpenAI.Responses.Response }).response;
    expect(final.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text }] });
    // Every event of the message names the item the response holds.
    const itemIds = events.flatMap((e) => {
      const ev = e as { item_id?: string; item?: { id: string } };
      return ev.item_id ?? ev.item?.id ?? [];
    });
    expect(new Set(itemIds)).toEqual(new Set([final.output[0].id]));
    expect(text).toBe((await chatOf([{ role: 'user', content: 'Tell me a story' }], 12)).text);
    expect(await client.responses.retrieve(final.id)).toEqual({ ...final, output_text: text }); // the SDK adds output_text
    expect(await usageRow(app, final.id)).toMatchObject({ completion_tokens: final.usage!.output_tokens });
    expect(await usageEvents(final.id)).toBe(1);
  });

  it('function tools: a forced call comes back as a function_call item; its output continues the chain', async () => {
    const tools = [
      {
        type: 'function' as const,
        name: 'set_unit',
        description: 'Sets the temperature unit',
        parameters: {
          type: 'object',
          properties: { unit: { enum: ['c', 'f'] } },
          required: ['unit'],
          additionalProperties: false,
        },
        strict: true,
      },
    ];
    const r = await client.responses.create({
      model,
      input: 'Use celsius',
      tools,
      tool_choice: { type: 'function', name: 'set_unit' },
    });
    expect(r.output).toHaveLength(1);
    const call = r.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'set_unit', status: 'completed' });
    expect(['c', 'f']).toContain((JSON.parse(call.arguments) as { unit: string }).unit);
    expect(r.tools[0]).toMatchObject({ type: 'function', name: 'set_unit' });

    const next = await client.responses.create({
      model,
      previous_response_id: r.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'done' }],
      tools,
      max_output_tokens: 4,
    });
    expect(next.output[0].type).toBe('message');
    const items = await client.responses.inputItems.list(next.id, { order: 'asc' });
    expect(items.data.map((i) => i.type)).toEqual(['message', 'function_call', 'function_call_output']);

    // Streamed: the call's arguments arrive in function_call_arguments events.
    const stream = await client.responses.create({
      model,
      input: 'Use celsius',
      tools,
      tool_choice: 'required',
      stream: true,
    });
    const types: string[] = [];
    let args = '';
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.function_call_arguments.done') args = e.arguments;
    }
    expect(types).toContain('response.output_item.added');
    expect(types).not.toContain('response.output_text.delta');
    expect(['c', 'f']).toContain((JSON.parse(args) as { unit: string }).unit);
    expect(types[types.length - 1]).toBe('response.completed');
  });

  it('text.format json_schema: the output is JSON of the schema', async () => {
    const r = await client.responses.create({
      model,
      input: 'A flag please',
      text: {
        format: {
          type: 'json_schema',
          name: 'flag',
          schema: {
            type: 'object',
            properties: { on: { type: 'boolean' } },
            required: ['on'],
            additionalProperties: false,
          },
          strict: true,
        },
      },
    });
    expect(typeof (JSON.parse(r.output_text) as { on: unknown }).on).toBe('boolean');
    expect(r.text!.format).toMatchObject({ type: 'json_schema', name: 'flag' });
  });

  it.each([
    ['no input', {}, 'input', 400],
    ['input of the wrong type', { input: 3 }, 'input', 400],
    [
      'an image part',
      { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] },
      'input[0].content[0].type',
      400,
    ],
    ['an unknown item type', { input: [{ type: 'reasoning', summary: [] }] }, 'input[0].type', 400],
    [
      'function_call arguments not JSON',
      { input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{' }] },
      'input[0].arguments',
      400,
    ],
    ['max_output_tokens 0', { input: 'x', max_output_tokens: 0 }, 'max_output_tokens', 400],
    ['a hosted tool', { input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0].type', 400],
    ['a bad function name', { input: 'x', tools: [{ type: 'function', name: 'a b' }] }, 'tools[0].name', 400],
    ['background', { input: 'x', background: true }, 'background', 400],
    ["truncation 'middle'", { input: 'x', truncation: 'middle' }, 'truncation', 400],
    [
      'a schema outside the engine subset',
      {
        input: 'x',
        text: { format: { type: 'json_schema', name: 'p', schema: { type: 'string', pattern: 'a' } } },
      },
      'text.format.schema',
      400,
    ],
    ['an unknown model', { input: 'x', model: 'nope' }, 'model', 404],
  ])('%s: an OpenAI error naming the parameter', async (_name, body, param, status) => {
    const res = await post({ model, ...body });
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ param });
    expect(typeof res.body.error.message).toBe('string');
  });
});

// truncation 'auto' against a short context (MAX_MODEL_LENGTH): the oldest turns are dropped.
describe('Responses API truncation (tiny model, 160-token context)', () => {
  let app: InferenceApp;
  let client: OpenAI;
  const model = 'tiny-llama';
  const limit = 160;

  beforeAll(async () => {
    app = await startInferenceApp('responses-trunc', {
      RATE_LIMIT: '100000/minute',
      MAX_MODEL_LENGTH: String(limit),
    });
    client = new OpenAI({ apiKey: app.apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  }, 120_000);
  afterAll(() => app?.close());

  const tokens = async (messages: { role: string; content: string }[]) =>
    (await app.request('POST', '/tokenize', { apiKey: app.apiKey, body: { model, messages } })).body
      .count as number;
  const turn = (i: number) => `Turn ${i}: tell me about the weather in a long city name ${'abc '.repeat(6)}`;

  it("drops the oldest turns until the conversation fits, only as many as needed; 'disabled' refuses", async () => {
    const maxOut = 8;
    let previous: string | undefined;
    // Chain turns until the stored conversation no longer fits with max_output_tokens.
    for (let i = 0; ; i++) {
      const body = {
        model,
        input: turn(i),
        max_output_tokens: maxOut,
        temperature: 0,
        previous_response_id: previous,
        truncation: 'auto' as const,
      };
      const r = await client.responses.create(body);
      const items = (await client.responses.inputItems.list(r.id, { order: 'asc', limit: 100 })).data;
      const messages = items.map((m) => {
        const msg = m as { role: string; content: { text: string }[] };
        return { role: msg.role, content: msg.content.map((c) => c.text).join('') };
      });
      const full = await tokens(messages);
      if (full + maxOut <= limit) {
        expect(r.usage!.input_tokens).toBe(full); // fits: nothing dropped
      } else {
        // The kept suffix: the longest one (cut before a message) that fits.
        let kept = -1;
        for (let from = 1; from < messages.length; from++) {
          if ((await tokens(messages.slice(from))) + maxOut <= limit) {
            kept = from;
            break;
          }
        }
        expect(kept).toBeGreaterThan(0);
        expect(r.usage!.input_tokens).toBe(await tokens(messages.slice(kept)));
        expect(r.truncation).toBe('auto');
        // The same request with truncation disabled is refused, naming the input.
        const refused = await app.request('POST', '/v1/responses', {
          apiKey: app.apiKey,
          body: { ...body, truncation: 'disabled' },
        });
        expect(refused.status).toBe(400);
        expect(refused.body.error.code).toBe('context_length_exceeded');
        // the prompt alone, or with max_output_tokens, is over the limit
        expect(['input', 'max_output_tokens']).toContain(refused.body.error.param);
        return;
      }
      previous = r.id;
      if (i > 20) throw new Error('the conversation never outgrew the context');
    }
  });

  it('a last message longer than the context is refused even with auto', async () => {
    const res = await app.request('POST', '/v1/responses', {
      apiKey: app.apiKey,
      body: { model, input: 'word '.repeat(400), truncation: 'auto' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'input' });
  });
});
