import OpenAI from 'openai';
import { EngineModule, ENGINE_PROVIDER, RemoteEngineProvider } from '@app/engine';
import { startTestApp, TestApp } from '../helpers';
import { ensureModel, InferenceApp, startInferenceApp, usageRow } from './support/inference-app';

// ENGINE_PROVIDER=remote: a gateway whose engine is two other real gateways (native engine, tiny model).
describe('remote engine provider', () => {
  let up: InferenceApp[] = [];
  let front: TestApp;
  let frontKey: string;
  let client: OpenAI;
  const model = 'tiny-llama';

  beforeAll(async () => {
    up = [await startInferenceApp('upstream-a'), await startInferenceApp('upstream-b')];
    front = await startTestApp({
      label: 'remote-front',
      env: {
        MODEL_PATH: ensureModel('tiny-llama'),
        ENGINE_PROVIDER: 'remote',
        REMOTE_UPSTREAMS: up.map((u) => u.baseUrl).join(','),
        REMOTE_API_KEY: up.map((u) => u.apiKey).join(','),
        MAX_NUM_SEQS: '16',
      },
      imports: [EngineModule.fromConfig()],
    });
    const admin = front.token('admin');
    const t = await front.request('POST', '/admin/tenants', {
      token: admin,
      body: { name: 'remote-client' },
    });
    const k = await front.request('POST', `/admin/tenants/${t.body.id}/keys`, {
      token: admin,
      body: { name: 'k' },
    });
    frontKey = k.body.key;
    client = new OpenAI({ apiKey: frontKey, baseURL: `${front.baseUrl}/v1`, maxRetries: 0 });
    const remote = front.app.get<RemoteEngineProvider>(ENGINE_PROVIDER);
    await remote.pool.checkAll();
  }, 180_000);

  afterAll(async () => {
    await front?.close();
    for (const u of up) await u.close();
  });

  it('gives the same text as the native engine, streamed and not, with exact usage', async () => {
    const req = {
      model,
      messages: [{ role: 'user' as const, content: 'hi' }],
      max_tokens: 12,
      temperature: 0,
      ignore_eos: true,
    };
    const direct = new OpenAI({ apiKey: up[0].apiKey, baseURL: `${up[0].baseUrl}/v1`, maxRetries: 0 });
    const want = await direct.chat.completions.create(req as never);
    const got = await client.chat.completions.create(req as never);
    expect(got.choices[0].message.content).toBe(want.choices[0].message.content);
    expect(got.usage?.prompt_tokens).toBe(want.usage?.prompt_tokens);
    expect(got.usage?.completion_tokens).toBe(12);
    const stream = (await client.chat.completions.create({
      ...req,
      stream: true,
    } as never)) as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe(want.choices[0].message.content);
    const lp = await client.chat.completions.create({
      ...req,
      max_tokens: 3,
      logprobs: true,
      top_logprobs: 2,
    } as never);
    expect(lp.choices[0].logprobs?.content).toHaveLength(3);
    expect(lp.choices[0].logprobs?.content?.[0].top_logprobs).toHaveLength(2);
    // echo with logprobs: the upstream scores the prompt; the same figures as asking it directly.
    const scoreBody = { model, prompt: 'hi there', echo: true, logprobs: 1, max_tokens: 2, temperature: 0 };
    const [viaFront, direct2] = await Promise.all([
      front.request('POST', '/v1/completions', { apiKey: frontKey, body: scoreBody }),
      up[0].request('POST', '/v1/completions', { apiKey: up[0].apiKey, body: scoreBody }),
    ]);
    expect(viaFront.status).toBe(200);
    expect(viaFront.body.choices[0].text).toBe(direct2.body.choices[0].text);
    expect(viaFront.body.choices[0].logprobs.token_logprobs).toEqual(
      direct2.body.choices[0].logprobs.token_logprobs,
    );
    expect(viaFront.body.choices[0].logprobs.tokens).toEqual(direct2.body.choices[0].logprobs.tokens);
    expect(viaFront.body.usage).toMatchObject({
      completion_tokens: 2,
      prompt_tokens: direct2.body.usage.prompt_tokens,
    });
    const echoed = await client.completions.create({ model, prompt: 'hi', echo: true, max_tokens: 2 });
    expect(echoed.choices[0].text.startsWith('hi')).toBe(true);
  });

  it('forwards embeddings to an upstream: the same vectors and usage as the upstream answers itself', async () => {
    const body = { model, input: ['first text', 'second text'], dimensions: 16 };
    const viaFront = await front.request('POST', '/v1/embeddings', { apiKey: frontKey, body });
    const direct = await up[0].request('POST', '/v1/embeddings', { apiKey: up[0].apiKey, body });
    expect(viaFront.status).toBe(200);
    expect(viaFront.body.data).toHaveLength(2);
    viaFront.body.data.forEach((d: { embedding: number[] }, i: number) => {
      expect(d.embedding).toHaveLength(16);
      d.embedding.forEach((x, k) => expect(x).toBeCloseTo(direct.body.data[i].embedding[k], 6));
    });
    expect(viaFront.body.usage).toEqual(direct.body.usage);
  });

  it('passes response_format json_object / json_schema and guided_choice to the upstream: the same output as the native engine', async () => {
    const req = {
      model,
      messages: [{ role: 'user' as const, content: 'JSON please' }],
      max_tokens: 40,
      temperature: 0,
      response_format: { type: 'json_object' as const },
      logit_bias: { '125': 30, '257': 60, '265': 60 }, // '}' and EOS: the random model closes the object
    };
    const direct = new OpenAI({ apiKey: up[0].apiKey, baseURL: `${up[0].baseUrl}/v1`, maxRetries: 0 });
    const want = await direct.chat.completions.create(req);
    const got = await client.chat.completions.create(req);
    expect(got.choices[0].finish_reason).toBe('stop');
    expect(got.choices[0].message.content).toBe(want.choices[0].message.content);
    expect(typeof JSON.parse(got.choices[0].message.content ?? '')).toBe('object');

    const schema = {
      type: 'object',
      properties: { ok: { type: 'boolean' }, n: { type: 'integer' } },
      required: ['ok', 'n'],
    };
    const schemaReq = {
      model,
      messages: [{ role: 'user' as const, content: 'JSON please' }],
      max_tokens: 120,
      temperature: 0,
      response_format: { type: 'json_schema' as const, json_schema: { name: 's', schema } },
    };
    const wantSchema = await direct.chat.completions.create(schemaReq);
    const gotSchema = await client.chat.completions.create(schemaReq);
    expect(gotSchema.choices[0].message.content).toBe(wantSchema.choices[0].message.content);
    const v = JSON.parse(gotSchema.choices[0].message.content ?? '') as { ok: unknown; n: unknown };
    expect(typeof v.ok).toBe('boolean');
    expect(typeof v.n).toBe('number');

    // vLLM's guided_choice goes through as well.
    const choiceReq = {
      ...req,
      response_format: undefined,
      logit_bias: undefined,
      guided_choice: ['up', 'down'],
    };
    const wantChoice = await direct.chat.completions.create(choiceReq as never);
    const gotChoice = await client.chat.completions.create(choiceReq as never);
    expect(['up', 'down']).toContain(gotChoice.choices[0].message.content);
    expect(gotChoice.choices[0].message.content).toBe(wantChoice.choices[0].message.content);
  });

  it('resumes a stream whose upstream dies mid-answer on the other one: the same greedy text, billed once', async () => {
    const remote = front.app.get<RemoteEngineProvider>(ENGINE_PROVIDER);
    const body = { model, prompt: 'resume me', max_tokens: 1500, temperature: 0, ignore_eos: true };
    const want = await up[0].request('POST', '/v1/completions', { apiKey: up[0].apiKey, body });
    expect(want.status).toBe(200);
    // The stream starts on upstream A (both idle: the first one); once its first tokens reach the
    // client, every connection to A is cut. A fast (or busy: the client reads late) machine may
    // finish 1,500 tiny-model tokens first: then the round is repeated.
    for (let round = 0; round < 15; round++) {
      const resumedBefore = remote.resumedStreams;
      const res = await fetch(`${front.baseUrl}/v1/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${frontKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let sse = Buffer.from((await reader.read()).value ?? []).toString();
      up[0].app.getHttpServer().closeAllConnections();
      for (let r = await reader.read(); !r.done; r = await reader.read())
        sse += Buffer.from(r.value).toString();
      if (remote.resumedStreams === resumedBefore) continue;
      const chunks = sse
        .split('\n')
        .filter((l) => l.startsWith('data: {'))
        .map((l) => JSON.parse(l.slice(6)));
      const text = chunks.map((c) => c.choices?.[0]?.text ?? '').join('');
      expect(text).toBe(want.body.choices[0].text);
      expect(chunks.find((c) => c.choices?.[0]?.finish_reason)?.choices[0].finish_reason).toBe('length');
      const usage = chunks.find((c) => c.usage)?.usage;
      expect(usage).toMatchObject({ prompt_tokens: want.body.usage.prompt_tokens, completion_tokens: 1500 });
      expect(await usageRow(front, chunks[0].id)).toMatchObject({
        prompt_tokens: want.body.usage.prompt_tokens,
        completion_tokens: 1500,
        status: 'completed',
      });
      // Leave upstream A as the next test needs it: the cut also failed health checks on its dead
      // sockets (each a breaker failure), so check it again until it is healthy and closed.
      for (let i = 0; i < 50; i++) {
        await remote.pool.checkAll();
        const a = remote.upstreams()[0];
        if (a.healthy && a.circuit === 'closed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(remote.upstreams()[0]).toMatchObject({ healthy: true, circuit: 'closed' });
      return;
    }
    throw new Error('the stream finished before the upstream connection was cut, 15 times');
  }, 120_000);

  it('keeps serving through the other upstream when one is killed mid-test', async () => {
    const remote = front.app.get<RemoteEngineProvider>(ENGINE_PROVIDER);
    const statuses: number[] = [];
    const served = new Set<string>();
    const one = async (i: number) => {
      const r = await front.request('POST', '/v1/completions', {
        apiKey: frontKey,
        body: { model, prompt: `request ${i}`, max_tokens: 40, temperature: 0, ignore_eos: true },
      });
      statuses.push(r.status);
    };
    // Both upstreams take load (least outstanding requests).
    const seen = new Set<number>();
    const watch = setInterval(
      () => remote.upstreams().forEach((u, i) => u.outstanding > 0 && seen.add(i)),
      1,
    );
    await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)));
    clearInterval(watch);
    expect(seen).toEqual(new Set([0, 1]));
    served.add('both');
    // Kill upstream B while requests are flowing.
    const workers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 8; i++) await one(100 + w * 10 + i);
    });
    // (after a few of them, not after a fixed time: a loaded machine may not have sent any yet)
    while (statuses.length < 8 + 4) await new Promise((r) => setTimeout(r, 1));
    await up[1].close();
    await Promise.all(workers);
    expect(statuses).toHaveLength(8 + 32);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const b = remote.upstreams()[1];
    expect(b.healthy === false || b.circuit !== 'closed').toBe(true);
    // Still serving afterwards.
    const after = await client.completions.create({ model, prompt: 'after', max_tokens: 3 } as never);
    expect(after.choices[0].finish_reason).toBeDefined();
  }, 60_000);
});
