import OpenAI from 'openai';
import { InferenceApp, startInferenceApp, usageRow } from './support/inference-app';

// The official openai client against the real gateway, real Postgres, real native engine, tiny model.
describe('inference API (openai client, tiny model)', () => {
  let app: InferenceApp;
  let client: OpenAI;
  const model = 'tiny-llama';
  const messages = [{ role: 'user' as const, content: 'Hello there' }];

  beforeAll(async () => {
    app = await startInferenceApp('inference');
    client = new OpenAI({ apiKey: app.apiKey, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
  }, 120_000);
  afterAll(() => app?.close());

  async function tokenize(body: object): Promise<number[]> {
    const r = await app.request('POST', '/tokenize', { apiKey: app.apiKey, body });
    expect(r.status).toBe(200);
    return r.body.tokens as number[];
  }

  it('lists the model and requires an API key', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([model]);
    const anon = await app.request('POST', '/v1/chat/completions', { body: { model, messages } });
    expect(anon.status).toBe(401);
  });

  it('chat completion: OpenAI shape, usage equal to the real token counts, finish_reason length', async () => {
    const res = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 8,
      temperature: 0,
      ignore_eos: true,
    } as never);
    expect(res).toMatchObject({ object: 'chat.completion', model, id: expect.stringMatching(/^chatcmpl-/) });
    expect(typeof res.created).toBe('number');
    const choice = res.choices[0];
    expect(choice).toMatchObject({
      index: 0,
      finish_reason: 'length',
      message: { role: 'assistant' },
      logprobs: null,
    });
    const promptIds = await tokenize({ messages });
    expect(res.usage).toEqual({
      prompt_tokens: promptIds.length,
      completion_tokens: 8,
      total_tokens: promptIds.length + 8,
      prompt_tokens_details: { cached_tokens: expect.any(Number) },
    });
    // The text is exactly the detokenized completion tokens (as a completion with the same ids shows).
    const viaIds = await client.completions.create({
      model,
      prompt: promptIds as never,
      max_tokens: 8,
      temperature: 0,
      ignore_eos: true,
    } as never);
    expect(viaIds.choices[0].text).toBe(choice.message.content);
    expect(viaIds.usage?.prompt_tokens).toBe(promptIds.length);
  });

  it('response_format json_object: the output is one JSON object (chat, streamed and not; completions)', async () => {
    // The tiny model's weights are random, so unconstrained it writes byte noise. A bias towards
    // '}' (byte token 125) and EOS (257, 265) lets it close the object and stop; EOS is only
    // allowed once the object is complete, so it must open one first.
    const closeSoon = { '125': 30, '257': 60, '265': 60 };
    const res = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 40,
      temperature: 0,
      response_format: { type: 'json_object' },
      logit_bias: closeSoon,
    });
    expect(res.choices[0].finish_reason).toBe('stop');
    const parsed: unknown = JSON.parse(res.choices[0].message.content ?? '');
    expect(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)).toBe(true);

    // Sampled, with seeds: every choice that stops is an object; one cut by max_tokens starts one.
    const sampled = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 24,
      temperature: 1,
      n: 4,
      seed: 11,
      response_format: { type: 'json_object' },
    });
    for (const c of sampled.choices) {
      const text = c.message.content ?? '';
      expect(text.trimStart().startsWith('{')).toBe(true);
      if (c.finish_reason === 'stop') expect(typeof JSON.parse(text)).toBe('object');
      else expect(c.finish_reason).toBe('length');
    }

    // Streamed: the deltas concatenate to the same object as the non-streamed answer.
    const stream = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 40,
      temperature: 0,
      stream: true,
      response_format: { type: 'json_object' },
      logit_bias: closeSoon,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe(res.choices[0].message.content);

    // Completions take it too (as vLLM's do), and {type: 'text'} is the plain default.
    const comp = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: {
        model,
        prompt: 'JSON:',
        max_tokens: 40,
        temperature: 0,
        response_format: { type: 'json_object' },
        logit_bias: closeSoon,
      },
    });
    expect(comp.status).toBe(200);
    expect(typeof JSON.parse(comp.body.choices[0].text as string)).toBe('object');
    const plain = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 8,
      temperature: 0,
      ignore_eos: true,
      response_format: { type: 'text' },
    } as never);
    expect(plain.choices[0].finish_reason).toBe('length');
  });

  it('response_format json_schema: the output matches the schema (keys, types, enums, arrays)', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', enum: ['ada', 'grace'] },
        age: { type: 'integer' },
        admin: { type: 'boolean' },
        tags: { type: 'array', items: { type: 'string', enum: ['x', 'y'] }, maxItems: 3 },
        boss: { type: ['object', 'null'], properties: { id: { type: 'number' } }, required: ['id'] },
      },
      required: ['name', 'age', 'admin', 'tags', 'boss'],
      additionalProperties: false,
    };
    // Every key, enum and literal is forced by the grammar and numbers are at most 32 bytes, so even
    // the random tiny model must finish the object well within max_tokens, then stop.
    for (const seed of [1, 2, 3]) {
      const res = await client.chat.completions.create({
        model,
        messages,
        max_tokens: 400,
        temperature: 1,
        seed,
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      expect(res.choices[0].finish_reason).toBe('stop');
      const v = JSON.parse(res.choices[0].message.content ?? '') as Record<string, unknown>;
      expect(Object.keys(v).sort()).toEqual(['admin', 'age', 'boss', 'name', 'tags']);
      expect(['ada', 'grace']).toContain(v.name);
      expect(Number.isInteger(v.age)).toBe(true);
      expect(typeof v.admin).toBe('boolean');
      expect(Array.isArray(v.tags) && (v.tags as unknown[]).length <= 3).toBe(true);
      for (const t of v.tags as unknown[]) expect(['x', 'y']).toContain(t);
      if (v.boss !== null) expect(typeof (v.boss as { id: unknown }).id).toBe('number');
    }
    // A schema outside the engine's subset is a 400 naming the keyword, before anything runs.
    const bad = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: {
        model,
        messages,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'p', schema: { type: 'string', pattern: '^a+$' } },
        },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ param: 'response_format.json_schema.schema' });
    expect(bad.body.error.message).toContain('pattern');
  });

  it('records one usage event per request, keyed by the server-made completion id (metering)', async () => {
    // The same client x-request-id twice: still two requests, so two usage events.
    const send = () =>
      app.request('POST', '/v1/chat/completions', {
        apiKey: app.apiKey,
        headers: { 'x-request-id': 'usage-check-1' },
        body: { model, messages, max_tokens: 5, ignore_eos: true, n: 2, service_tier: 'flex' },
      });
    const [first, second] = await Promise.all([send(), send()]);
    for (const r of [first, second]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit-tokens')).not.toBeNull();
      expect(r.headers.get('x-request-id')).toBe('usage-check-1');
      const row = await usageRow(app, r.body.id as string);
      expect(row).toMatchObject({
        status: 'completed',
        lane: 'batch',
        prompt_tokens: r.body.usage.prompt_tokens,
        completion_tokens: 10,
      });
    }
    expect(first.body.id).not.toBe(second.body.id);
  });

  it('json_schema from Pydantic: $defs / $ref, nullable anyOf and dict[str, Any] fields', async () => {
    // model_json_schema() of Person(name: str, age: int, address: Address, tags: list[str],
    // meta: dict[str, Any]) with Address(city: str, zip: str | None = None).
    const schema = {
      $defs: {
        Address: {
          properties: {
            city: { title: 'City', type: 'string' },
            zip: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, title: 'Zip' },
          },
          required: ['city', 'zip'],
          title: 'Address',
          type: 'object',
        },
      },
      properties: {
        name: { title: 'Name', type: 'string' },
        age: { title: 'Age', type: 'integer' },
        address: { $ref: '#/$defs/Address' },
        tags: { items: { type: 'string' }, title: 'Tags', type: 'array', maxItems: 3 },
        meta: { additionalProperties: true, title: 'Meta', type: 'object' },
      },
      required: ['name', 'age', 'address', 'tags', 'meta'],
      title: 'Person',
      type: 'object',
    };
    // The random model writes strings of random bytes: a bias on '"' (byte token 34) keeps them short.
    for (const seed of [1, 2]) {
      const res = await client.chat.completions.create({
        model,
        messages,
        max_tokens: 600,
        temperature: 1,
        seed,
        logit_bias: { '34': 6 },
        response_format: { type: 'json_schema', json_schema: { name: 'Person', schema } },
      });
      expect(res.choices[0].finish_reason).toBe('stop');
      const v = JSON.parse(res.choices[0].message.content ?? '') as {
        name: unknown;
        age: unknown;
        address: { city: unknown; zip: unknown };
        tags: unknown[];
        meta: unknown;
      };
      expect(typeof v.name).toBe('string');
      expect(Number.isInteger(v.age)).toBe(true);
      expect(typeof v.address.city).toBe('string');
      expect(v.address.zip === null || typeof v.address.zip === 'string').toBe(true);
      expect(Array.isArray(v.tags)).toBe(true);
      expect(v.meta !== null && typeof v.meta === 'object' && !Array.isArray(v.meta)).toBe(true);
    }
  });

  it('tools: a named or required tool_choice returns a tool call whose arguments match the parameters', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } },
            required: ['city', 'unit'],
          },
        },
      },
      { type: 'function' as const, function: { name: 'noop' } },
    ];
    const req = {
      model,
      messages: [{ role: 'user' as const, content: 'Weather in Oslo?' }],
      max_tokens: 300,
      temperature: 1,
      seed: 4,
      logit_bias: { '34': 6 }, // '"': the random model's strings stay short
      tools,
      tool_choice: { type: 'function' as const, function: { name: 'get_weather' } },
    };
    const res = await client.chat.completions.create(req);
    const c = res.choices[0];
    expect(c.finish_reason).toBe('tool_calls');
    expect(c.message.content).toBeNull();
    const call = c.message.tool_calls![0] as {
      id: string;
      type: string;
      function: { name: string; arguments: string };
    };
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    const args = JSON.parse(call.function.arguments) as { city: unknown; unit: unknown };
    expect(typeof args.city).toBe('string');
    expect(['c', 'f']).toContain(args.unit);

    // Streamed: one tool_calls delta, then finish_reason tool_calls; the same call as above.
    const stream = await client.chat.completions.create({ ...req, stream: true });
    const deltas: { name?: string; arguments?: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) deltas.push(tc.function ?? {});
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(deltas).toHaveLength(1);
    expect(deltas[0].name).toBe('get_weather');
    expect(JSON.parse(deltas[0].arguments ?? '')).toEqual(args);

    // 'required' with its one tool; then the conversation goes on with the tool's answer.
    // Parameters with $defs (as Pydantic writes them) work for a forced call too.
    const withDefs = {
      type: 'function' as const,
      function: {
        name: 'pick',
        parameters: {
          type: 'object',
          properties: { a: { $ref: '#/$defs/A' } },
          required: ['a'],
          $defs: { A: { enum: ['x', 'y'] } },
        },
      },
    };
    const picked = await client.chat.completions.create({
      ...req,
      tools: [withDefs],
      tool_choice: { type: 'function', function: { name: 'pick' } },
    });
    const pickedCall = picked.choices[0].message.tool_calls![0] as { function: { arguments: string } };
    expect(['x', 'y']).toContain((JSON.parse(pickedCall.function.arguments) as { a: string }).a);

    const required = await client.chat.completions.create({
      ...req,
      tools: [tools[1]],
      tool_choice: 'required',
    });
    expect(required.choices[0].message.tool_calls![0]).toMatchObject({
      function: { name: 'noop', arguments: '{}' },
    });
    // 'required' with several tools: a call to one of them, with that tool's arguments.
    for (const seed of [1, 2, 3, 4]) {
      const any = await client.chat.completions.create({ ...req, seed, tools, tool_choice: 'required' });
      expect(any.choices[0].finish_reason).toBe('tool_calls');
      const fnCall = (
        any.choices[0].message.tool_calls![0] as { function: { name: string; arguments: string } }
      ).function;
      const parsed = JSON.parse(fnCall.arguments) as Record<string, unknown>;
      if (fnCall.name === 'noop') expect(parsed).toEqual({});
      else {
        expect(fnCall.name).toBe('get_weather');
        expect(typeof parsed.city).toBe('string');
      }
    }
    const next = await client.chat.completions.create({
      model,
      max_tokens: 4,
      tools,
      tool_choice: 'none',
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [call as never] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp": 3}' },
      ],
    });
    expect(next.choices[0].message.tool_calls).toBeUndefined();
    expect(typeof next.choices[0].message.content).toBe('string');
    // 'auto' lets the model answer in text (the random model does not write a call) ...
    const auto = await client.chat.completions.create({
      model,
      messages: req.messages,
      max_tokens: 6,
      tools,
    });
    expect(['stop', 'length']).toContain(auto.choices[0].finish_reason);
    expect(typeof auto.choices[0].message.content).toBe('string');
    // ... and reads an answer that is exactly a call as one (guided_json makes the model write it),
    // streamed or not.
    const callSchema = {
      type: 'object',
      properties: { name: { const: 'noop' }, parameters: { type: 'object', properties: {} } },
      required: ['name', 'parameters'],
    };
    const body = { model, messages: req.messages, max_tokens: 300, tools, guided_json: callSchema };
    const whole = await app.request('POST', '/v1/chat/completions', { apiKey: app.apiKey, body });
    expect(whole.body.choices[0].finish_reason).toBe('tool_calls');
    expect(whole.body.choices[0].message.tool_calls[0].function).toEqual({ name: 'noop', arguments: '{}' });
    const sse = await (
      await fetch(`${app.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true }),
      })
    ).text();
    expect(sse).toContain('"tool_calls":[{"index":0');
    expect(sse).toContain('"finish_reason":"tool_calls"');

    // Several calls in one answer (parallel_tool_calls defaults to true): one tool_calls entry each,
    // streamed with indexes 0 and 1; with parallel_tool_calls false the same text is an answer.
    const twoCalls =
      '{"name": "get_weather", "parameters": {"city": "Oslo", "unit": "c"}}; {"name": "noop", "parameters": {}}';
    const parallel = { ...body, guided_json: undefined, guided_choice: [twoCalls] };
    const both = await app.request('POST', '/v1/chat/completions', { apiKey: app.apiKey, body: parallel });
    expect(both.body.choices[0].finish_reason).toBe('tool_calls');
    const calls = both.body.choices[0].message.tool_calls as { id: string; function: unknown }[];
    expect(calls.map((c) => c.function)).toEqual([
      { name: 'get_weather', arguments: '{"city":"Oslo","unit":"c"}' },
      { name: 'noop', arguments: '{}' },
    ]);
    expect(calls[0].id).not.toBe(calls[1].id);
    const streamed: { index: number; function: { name: string } }[] = [];
    for await (const chunk of await client.chat.completions.create({
      ...(parallel as unknown as typeof req),
      tool_choice: 'auto',
      stream: true,
    }))
      streamed.push(...((chunk.choices[0]?.delta?.tool_calls ?? []) as typeof streamed));
    expect(streamed.map((c) => [c.index, c.function.name])).toEqual([
      [0, 'get_weather'],
      [1, 'noop'],
    ]);
    // The pythonic list of Llama 3.2 / 4 tool templates reads the same.
    const pythonic = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: { ...parallel, guided_choice: ['[get_weather(city="Oslo", unit="c"), noop()]'] },
    });
    expect(pythonic.body.choices[0].message.tool_calls.map((c: { function: unknown }) => c.function)).toEqual(
      calls.map((c) => c.function),
    );
    const single = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: { ...parallel, parallel_tool_calls: false },
    });
    expect(single.body.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { content: twoCalls },
    });
  });

  it('vLLM guided_choice and guided_json: the output is one of the choices / matches the schema', async () => {
    const choices = ['positive', 'negative', 'neutral'];
    const chat = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: { model, messages, max_tokens: 20, temperature: 1, seed: 3, n: 4, guided_choice: choices },
    });
    expect(chat.status).toBe(200);
    for (const c of chat.body.choices as { message: { content: string }; finish_reason: string }[]) {
      expect(choices).toContain(c.message.content);
      expect(c.finish_reason).toBe('stop');
    }
    const comp = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { model, prompt: 'Sentiment:', max_tokens: 20, temperature: 0, guided_choice: ['yes', 'no'] },
    });
    expect(['yes', 'no']).toContain(comp.body.choices[0].text);
    const guided = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: {
        model,
        prompt: 'JSON:',
        max_tokens: 100,
        temperature: 0,
        guided_json: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
      },
    });
    expect(typeof (JSON.parse(guided.body.choices[0].text as string) as { ok: unknown }).ok).toBe('boolean');
  });

  it('a request larger than the engine (MAX_NUM_SEQS 16) runs in waves: 40 prompts, every choice as if alone', async () => {
    const prompts = Array.from({ length: 40 }, (_, i) => [
      65 + (i % 26),
      97 + ((i * 7) % 26),
      32,
      48 + (i % 10),
    ]);
    const body = { model, prompt: prompts, max_tokens: 3, temperature: 0, ignore_eos: true };
    const res = await app.request('POST', '/v1/completions', { apiKey: app.apiKey, body });
    expect(res.status).toBe(200);
    const choices = res.body.choices as { index: number; text: string; finish_reason: string }[];
    expect(choices.map((c) => c.index)).toEqual(prompts.map((_, i) => i));
    expect(choices.every((c) => c.finish_reason === 'length')).toBe(true);
    const promptTokens = prompts.reduce((n, p) => n + p.length, 0);
    expect(res.body.usage).toMatchObject({ prompt_tokens: promptTokens, completion_tokens: 40 * 3 });
    for (const i of [0, 17, 39]) {
      const alone = await app.request('POST', '/v1/completions', {
        apiKey: app.apiKey,
        body: { ...body, prompt: prompts[i] },
      });
      expect(choices[i].text).toBe(alone.body.choices[0].text);
    }
    const row = await usageRow(app, res.body.id as string);
    expect(row).toMatchObject({ status: 'completed', prompt_tokens: promptTokens, completion_tokens: 120 });

    // Streamed with n = 2: 20 prompts x 2 = 40 choices, each ends with a finish_reason.
    const streamed = await (
      await fetch(`${app.baseUrl}/v1/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, prompt: prompts.slice(0, 20), n: 2, stream: true }),
      })
    ).text();
    const finished = new Set<number>();
    for (const line of streamed.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6)) as {
        choices: { index: number; finish_reason: string | null }[];
      };
      for (const c of chunk.choices) if (c.finish_reason === 'length') finished.add(c.index);
    }
    expect(finished.size).toBe(40);
  });

  it('chat streaming: role delta first, content deltas, finish_reason, usage chunk, [DONE]', async () => {
    const stream = (await client.chat.completions.create({
      model,
      messages,
      max_tokens: 6,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    } as never)) as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish).toHaveLength(1);
    expect(finish[0].choices[0].finish_reason).toBe('length');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 6 });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const whole = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 6,
      temperature: 0,
      ignore_eos: true,
    } as never);
    expect(text).toBe(whole.choices[0].message.content);
    // The raw wire format ends with data: [DONE].
    const raw = await fetch(`${app.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages, max_tokens: 2, stream: true }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await raw.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('completions, streamed and not, agree; usage counts the prompt with BOS', async () => {
    const prompt = 'Once upon a time';
    const res = await client.completions.create({
      model,
      prompt,
      max_tokens: 7,
      temperature: 0,
      ignore_eos: true,
    } as never);
    expect(res).toMatchObject({ object: 'text_completion', id: expect.stringMatching(/^cmpl-/) });
    const ids = await tokenize({ prompt });
    expect(res.usage).toMatchObject({
      prompt_tokens: ids.length,
      completion_tokens: 7,
      total_tokens: ids.length + 7,
    });
    expect(res.choices[0].finish_reason).toBe('length');
    const stream = (await client.completions.create({
      model,
      prompt,
      max_tokens: 7,
      temperature: 0,
      ignore_eos: true,
      stream: true,
    } as never)) as unknown as AsyncIterable<OpenAI.Completions.Completion>;
    let text = '';
    const reasons: (string | null)[] = [];
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      reasons.push(c.choices[0]?.finish_reason ?? null);
    }
    expect(text).toBe(res.choices[0].text);
    expect(reasons.filter(Boolean)).toEqual(['length']);
  });

  it('stop strings end the output before the stop string, also across token boundaries', async () => {
    const base = await client.completions.create({
      model,
      prompt: 'abc',
      max_tokens: 24,
      temperature: 0,
      ignore_eos: true,
    } as never);
    const full = base.choices[0].text;
    expect(full.length).toBeGreaterThan(4);
    // A two-character stop string taken from the middle of the output: byte-level tokens, so it spans tokens.
    const at = Math.floor(full.length / 2);
    const stop = full.slice(at, at + 2);
    const cut = full.indexOf(stop);
    for (const stream of [false, true]) {
      const res = await app.request('POST', '/v1/completions', {
        apiKey: app.apiKey,
        body: {
          model,
          prompt: 'abc',
          max_tokens: 24,
          temperature: 0,
          ignore_eos: true,
          stop: [stop],
          stream,
        },
      });
      expect(res.status).toBe(200);
      const text = stream
        ? res.text
            .split('\n')
            .filter((l) => l.startsWith('data: {'))
            .map((l) => JSON.parse(l.slice(6)).choices[0]?.text ?? '')
            .join('')
        : res.body.choices[0].text;
      expect(text).toBe(full.slice(0, cut));
      expect(text.includes(stop)).toBe(false);
      if (!stream) expect(res.body.choices[0].finish_reason).toBe('stop');
    }
  });

  it('n > 1 gives n choices; the same seed gives the same text', async () => {
    const req = { model, messages, max_tokens: 10, temperature: 1, seed: 1234, n: 3, ignore_eos: true };
    const a = await client.chat.completions.create(req as never);
    const b = await client.chat.completions.create(req as never);
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(a.choices.map((c) => c.message.content)).toEqual(b.choices.map((c) => c.message.content));
    expect(new Set(a.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
    expect(a.usage?.completion_tokens).toBe(30);
    const promptIds = await tokenize({ messages });
    expect(a.usage?.prompt_tokens).toBe(promptIds.length);
    const other = await client.chat.completions.create({ ...req, seed: 99, n: 1 } as never);
    expect(other.choices[0].message.content).not.toBe(a.choices[0].message.content);
  });

  it('logprobs have OpenAI shapes (chat and completions)', async () => {
    const chat = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 4,
      logprobs: true,
      top_logprobs: 3,
      ignore_eos: true,
    } as never);
    const content = chat.choices[0].logprobs?.content ?? [];
    expect(content).toHaveLength(4);
    for (const e of content) {
      expect(e).toEqual({
        token: expect.any(String),
        logprob: expect.any(Number),
        bytes: expect.any(Array),
        top_logprobs: expect.any(Array),
      });
      expect(e.logprob).toBeLessThanOrEqual(0);
      expect(e.top_logprobs).toHaveLength(3);
      expect(e.top_logprobs[0].logprob).toBeGreaterThanOrEqual(e.top_logprobs[2].logprob);
    }
    const comp = await client.completions.create({
      model,
      prompt: 'hi',
      max_tokens: 3,
      logprobs: 2,
      ignore_eos: true,
    } as never);
    const lp = comp.choices[0].logprobs!;
    expect(lp.tokens).toHaveLength(3);
    expect(lp.token_logprobs).toHaveLength(3);
    expect(lp.text_offset).toHaveLength(3);
    expect(lp.top_logprobs?.every((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 2)).toBe(
      true,
    );
  });

  it('echo: the answer starts with the prompt; with logprobs the prompt tokens are scored (max_tokens 0 too)', async () => {
    const prompt = 'The quick brown fox';
    const ids = await tokenize({ prompt });
    const scored = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { model, prompt, echo: true, logprobs: 2, max_tokens: 0 },
    });
    expect(scored.status).toBe(200);
    const c = scored.body.choices[0];
    expect(c.text).toBe(prompt);
    expect(c.finish_reason).toBe('length');
    expect(scored.body.usage).toMatchObject({ prompt_tokens: ids.length, completion_tokens: 0 });
    const lp = c.logprobs;
    expect(lp.tokens).toHaveLength(ids.length);
    expect(lp.token_logprobs[0]).toBeNull();
    expect(lp.top_logprobs[0]).toBeNull();
    for (let i = 1; i < ids.length; i++) {
      expect(lp.token_logprobs[i]).toBeLessThanOrEqual(0);
      // (2 alternatives; fewer keys when two tokens print alike, e.g. partial UTF-8 bytes)
      expect(Object.keys(lp.top_logprobs[i]).length).toBeGreaterThanOrEqual(1);
      expect(Object.keys(lp.top_logprobs[i]).length).toBeLessThanOrEqual(2);
    }
    expect(lp.text_offset[0]).toBe(0);
    // A generated token's logprob is exactly the score it gets as a prompt token afterwards (the
    // way evaluation harnesses compute log-likelihoods).
    const gen = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: {
        model,
        prompt: ids,
        max_tokens: 3,
        temperature: 0,
        ignore_eos: true,
        logprobs: 0,
        return_tokens_as_token_ids: true,
      },
    });
    const next = (gen.body.choices[0].logprobs.tokens as string[]).map((t) =>
      Number(t.slice('token_id:'.length)),
    );
    const again = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { model, prompt: [...ids, ...next], echo: true, logprobs: 0, max_tokens: 0 },
    });
    expect(again.body.choices[0].logprobs.token_logprobs.slice(ids.length)).toEqual(
      gen.body.choices[0].logprobs.token_logprobs,
    );
    // Streamed: the prompt (with its scores) first, then the output; the same as in one piece.
    const body = { model, prompt, echo: true, logprobs: 1, max_tokens: 5, temperature: 0, ignore_eos: true };
    const whole = await app.request('POST', '/v1/completions', { apiKey: app.apiKey, body });
    const streamed = await app.request('POST', '/v1/completions', {
      apiKey: app.apiKey,
      body: { ...body, stream: true },
    });
    const chunks = streamed.text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices[0]);
    expect(chunks[0].text).toBe(prompt);
    expect(chunks[0].logprobs.token_logprobs).toEqual(
      whole.body.choices[0].logprobs.token_logprobs.slice(0, ids.length),
    );
    expect(chunks.map((c) => c.text).join('')).toBe(whole.body.choices[0].text);
    expect(chunks.flatMap((c) => c.logprobs.token_logprobs)).toEqual(
      whole.body.choices[0].logprobs.token_logprobs,
    );
    // Echo with output, without logprobs: prompt then the generated text.
    const both = await client.completions.create({
      model,
      prompt,
      echo: true,
      max_tokens: 4,
      temperature: 0,
    });
    const plain = await client.completions.create({ model, prompt, max_tokens: 4, temperature: 0 });
    expect(both.choices[0].text).toBe(prompt + plain.choices[0].text);
  });

  it('prompt + max_tokens beyond the context is a 400 naming both numbers; tokenize/detokenize round-trip', async () => {
    const r = await app.request('POST', '/v1/chat/completions', {
      apiKey: app.apiKey,
      body: { model, messages, max_tokens: 5000 },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('max_tokens');
    expect(r.body.error.message).toMatch(/2048/);
    expect(r.body.error.message).toMatch(/5000/);
    const text = 'héllo 😀 世界\r\n';
    const ids = await tokenize({ prompt: text, add_special_tokens: false });
    const d = await app.request('POST', '/detokenize', { apiKey: app.apiKey, body: { tokens: ids } });
    expect(d.body).toEqual({ prompt: text });
  });
});
