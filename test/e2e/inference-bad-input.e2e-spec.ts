import { InferenceApp, startInferenceApp } from './support/inference-app';

// Table-driven malformed requests: each must be a 4xx in OpenAI's error shape naming the
// parameter, never a 500, and the server must keep serving.
const model = 'tiny-llama';
const msgs = [{ role: 'user', content: 'hi' }];
const chat = (extra: Record<string, unknown>) => ({ model, messages: msgs, max_tokens: 2, ...extra });
const fn = (name: string) => ({ type: 'function', function: { name } });
const fnChoice = (name: string) => ({ type: 'function', function: { name } });
const comp = (extra: Record<string, unknown>) => ({ model, prompt: 'hi', max_tokens: 2, ...extra });

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

interface Case {
  name: string;
  path?: string;
  body?: unknown;
  raw?: Buffer | string;
  status?: number;
  /** Expected error.param (exact string or pattern); null = none expected. */
  param: string | RegExp | null;
}

const CASES: Case[] = [
  // types
  { name: 'model not a string', body: chat({ model: 42 }), param: 'model' },
  { name: 'messages not an array', body: chat({ messages: 'hello' }), param: 'messages' },
  { name: 'message not an object', body: chat({ messages: ['hi'] }), param: 'messages[0]' },
  {
    name: 'content a number',
    body: chat({ messages: [{ role: 'user', content: 5 }] }),
    param: 'messages[0].content',
  },
  { name: 'temperature a string', body: chat({ temperature: 'hot' }), param: 'temperature' },
  { name: 'max_tokens a float', body: chat({ max_tokens: 2.5 }), param: 'max_tokens' },
  { name: 'stream a string', body: chat({ stream: 'yes' }), param: 'stream' },
  { name: 'n a string', body: chat({ n: '2' }), param: 'n' },
  { name: 'seed a float', body: chat({ seed: 1.5 }), param: 'seed' },
  { name: 'logprobs a number (chat)', body: chat({ logprobs: 3 }), param: 'logprobs' },
  { name: 'stop a number', body: chat({ stop: 7 }), param: 'stop' },
  { name: 'logit_bias an array', body: chat({ logit_bias: [1, 2] }), param: 'logit_bias' },
  { name: 'prompt an object', path: '/v1/completions', body: comp({ prompt: { a: 1 } }), param: 'prompt' },
  { name: 'body a JSON array', body: [1, 2, 3], param: 'body' },
  // ranges
  { name: 'temperature > 2', body: chat({ temperature: 2.5 }), param: 'temperature' },
  { name: 'temperature < 0', body: chat({ temperature: -1 }), param: 'temperature' },
  { name: 'top_p > 1', body: chat({ top_p: 1.5 }), param: 'top_p' },
  { name: 'min_p < 0', body: chat({ min_p: -0.1 }), param: 'min_p' },
  { name: 'presence_penalty > 2', body: chat({ presence_penalty: 3 }), param: 'presence_penalty' },
  { name: 'frequency_penalty < -2', body: chat({ frequency_penalty: -3 }), param: 'frequency_penalty' },
  { name: 'repetition_penalty 0', body: chat({ repetition_penalty: 0 }), param: 'repetition_penalty' },
  { name: 'max_tokens 0', body: chat({ max_tokens: 0 }), param: 'max_tokens' },
  { name: 'max_tokens negative', body: chat({ max_tokens: -5 }), param: 'max_tokens' },
  { name: 'huge max_tokens', body: chat({ max_tokens: 10_000_000 }), param: 'max_tokens' },
  {
    name: 'huge max_completion_tokens',
    body: chat({ max_completion_tokens: 1e9 }),
    param: 'max_completion_tokens',
  },
  { name: 'huge n', body: chat({ n: 1000 }), param: 'n' },
  { name: 'n zero', body: chat({ n: 0 }), param: 'n' },
  { name: 'top_logprobs 50', body: chat({ logprobs: true, top_logprobs: 50 }), param: 'top_logprobs' },
  { name: 'top_logprobs without logprobs', body: chat({ top_logprobs: 2 }), param: 'top_logprobs' },
  {
    name: 'completion logprobs 10',
    path: '/v1/completions',
    body: comp({ logprobs: 10 }),
    param: 'logprobs',
  },
  { name: 'min_tokens > max_tokens', body: chat({ min_tokens: 5, max_tokens: 2 }), param: 'min_tokens' },
  { name: 'stop_token_ids out of vocab', body: chat({ stop_token_ids: [999999] }), param: 'stop_token_ids' },
  {
    name: 'prompt token id out of vocab',
    path: '/v1/completions',
    body: comp({ prompt: [1, 2, 99999] }),
    param: 'prompt',
  },
  // missing fields
  { name: 'missing model', body: { messages: msgs }, param: 'model' },
  { name: 'missing messages', body: { model }, param: 'messages' },
  { name: 'missing prompt', path: '/v1/completions', body: { model }, param: 'prompt' },
  { name: 'missing role', body: chat({ messages: [{ content: 'x' }] }), param: 'messages[0].role' },
  { name: 'missing content', body: chat({ messages: [{ role: 'user' }] }), param: 'messages[0].content' },
  { name: 'missing tokens (detokenize)', path: '/detokenize', body: {}, param: 'tokens' },
  // empty
  { name: 'empty messages', body: chat({ messages: [] }), param: 'messages' },
  {
    name: 'empty content parts',
    body: chat({ messages: [{ role: 'user', content: [] }] }),
    param: 'messages[0].content',
  },
  { name: 'empty prompt array', path: '/v1/completions', body: comp({ prompt: [] }), param: 'prompt' },
  { name: 'empty stop string', body: chat({ stop: [''] }), param: 'stop' },
  // roles and content parts
  {
    name: 'bad role',
    body: chat({ messages: [{ role: 'wizard', content: 'x' }] }),
    param: 'messages[0].role',
  },
  { name: 'role a number', body: chat({ messages: [{ role: 1, content: 'x' }] }), param: 'messages[0].role' },
  {
    name: 'image part',
    body: chat({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }],
    }),
    param: 'messages[0].content[0].type',
  },
  {
    name: 'unknown part type',
    body: chat({ messages: [{ role: 'user', content: [{ type: 'video' }] }] }),
    param: 'messages[0].content[0].type',
  },
  {
    name: 'unknown message field',
    body: chat({ messages: [{ role: 'user', content: 'x', mood: 'happy' }] }),
    param: 'messages[0].mood',
  },
  // logit_bias
  { name: 'logit_bias non-numeric key', body: chat({ logit_bias: { abc: 1 } }), param: 'logit_bias' },
  { name: 'logit_bias negative key', body: chat({ logit_bias: { '-1': 1 } }), param: 'logit_bias' },
  { name: 'logit_bias key out of vocab', body: chat({ logit_bias: { '100000': 1 } }), param: 'logit_bias' },
  { name: 'logit_bias value > 100', body: chat({ logit_bias: { '5': 500 } }), param: 'logit_bias' },
  { name: 'logit_bias value a string', body: chat({ logit_bias: { '5': 'x' } }), param: 'logit_bias' },
  {
    name: 'logit_bias one token twice',
    body: chat({ logit_bias: { '5': 1, '005': 2 } }),
    param: 'logit_bias',
  },
  // stop lists
  { name: 'stop list too long', body: chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), param: 'stop' },
  { name: 'stop string too long', body: chat({ stop: ['x'.repeat(1000)] }), param: 'stop' },
  { name: 'stop list of numbers', body: chat({ stop: [1, 2] }), param: 'stop' },
  // unsupported parameters
  { name: 'tools not an array', body: chat({ tools: { a: 1 } }), param: 'tools' },
  {
    name: 'tool name invalid',
    body: chat({ tools: [{ type: 'function', function: { name: 'a b' } }] }),
    param: 'tools[0].function.name',
  },
  {
    name: 'tool names repeated',
    body: chat({ tools: [fn('f'), fn('f')] }),
    param: 'tools',
  },
  {
    name: 'tool_choice unknown function',
    body: chat({ tools: [fn('f')], tool_choice: fnChoice('g') }),
    param: 'tool_choice',
  },
  {
    name: "tool_choice 'required' with tools that define a $defs name differently",
    body: chat({
      tools: [
        {
          type: 'function',
          function: { name: 'f', parameters: { type: 'object', $defs: { A: { type: 'string' } } } },
        },
        {
          type: 'function',
          function: { name: 'g', parameters: { type: 'object', $defs: { A: { type: 'integer' } } } },
        },
      ],
      tool_choice: 'required',
    }),
    param: 'tools',
  },
  { name: 'tool_choice without tools', body: chat({ tool_choice: 'required' }), param: 'tool_choice' },
  {
    name: 'forced tool with response_format',
    body: chat({ tools: [fn('f')], tool_choice: fnChoice('f'), response_format: { type: 'json_object' } }),
    param: 'tool_choice',
  },
  {
    name: 'tool parameters not an object schema',
    body: chat({
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'array', items: {} } } }],
    }),
    param: 'tools[0].function.parameters',
  },
  {
    name: 'tool parameters outside the schema subset',
    body: chat({
      tools: [
        {
          type: 'function',
          function: {
            name: 'f',
            parameters: { type: 'object', properties: { s: { type: 'string', pattern: 'x' } } },
          },
        },
      ],
      tool_choice: fnChoice('f'),
    }),
    param: 'tools[0].function.parameters',
  },
  {
    name: 'tool message without tool_call_id',
    body: chat({ messages: [{ role: 'tool', content: 'x' }] }),
    param: 'messages[0].tool_call_id',
  },
  {
    name: 'assistant tool_calls malformed',
    body: chat({ messages: [{ role: 'assistant', content: null, tool_calls: [{ type: 'x' }] }] }),
    param: 'messages[0].tool_calls[0]',
  },
  {
    name: 'tool_calls on a user message',
    body: chat({ messages: [{ role: 'user', content: 'x', tool_calls: [] }] }),
    param: 'messages[0].tool_calls',
  },
  { name: 'guided_choice empty', body: chat({ guided_choice: [] }), param: 'guided_choice' },
  { name: 'guided_choice not strings', body: chat({ guided_choice: [1, 2] }), param: 'guided_choice' },
  { name: 'guided_choice empty string', body: chat({ guided_choice: ['a', ''] }), param: 'guided_choice' },
  {
    name: 'guided_choice with response_format',
    body: chat({ guided_choice: ['a'], response_format: { type: 'json_object' } }),
    param: /^(guided_choice|response_format)$/,
  },
  { name: 'guided_json not an object', body: chat({ guided_json: 5 }), param: 'guided_json' },
  {
    name: 'json_schema block missing',
    body: chat({ response_format: { type: 'json_schema' } }),
    param: 'response_format.json_schema',
  },
  {
    name: 'json_schema bad name',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'a b', schema: {} } } }),
    param: 'response_format.json_schema.name',
  },
  {
    name: 'json_schema schema not an object',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'a', schema: 'x' } } }),
    param: 'response_format.json_schema.schema',
  },
  {
    name: 'json_schema unknown field',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'a', schema: {}, x: 1 } } }),
    param: 'response_format.json_schema.x',
  },
  {
    name: 'json_schema outside the subset',
    body: chat({
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'a', schema: { allOf: [{ type: 'string' }] } },
      },
    }),
    param: 'response_format.json_schema.schema',
  },
  {
    name: 'response_format bad type',
    body: chat({ response_format: { type: 'yaml' } }),
    param: 'response_format.type',
  },
  {
    name: 'response_format without type',
    body: chat({ response_format: {} }),
    param: 'response_format.type',
  },
  { name: 'response_format a string', body: chat({ response_format: 'json' }), param: 'response_format' },
  {
    name: 'response_format extra field',
    path: '/v1/completions',
    body: comp({ response_format: { type: 'json_object', strict: true } }),
    param: 'response_format.strict',
  },
  { name: 'unknown parameter', body: chat({ frobnicate: true }), param: 'frobnicate' },
  { name: 'suffix unsupported', path: '/v1/completions', body: comp({ suffix: 'x' }), param: 'suffix' },
  {
    name: 'max_tokens 0 without echo',
    path: '/v1/completions',
    body: comp({ max_tokens: 0 }),
    param: 'max_tokens',
  },
  { name: 'bad service_tier', body: chat({ service_tier: 'platinum' }), param: 'service_tier' },
  {
    name: 'stream_options without stream',
    body: chat({ stream_options: { include_usage: true } }),
    param: 'stream_options',
  },
  {
    name: 'unknown stream option',
    body: chat({ stream: true, stream_options: { foo: 1 } }),
    param: 'stream_options.foo',
  },
  // model and context
  { name: 'unknown model', body: chat({ model: 'gpt-9' }), status: 404, param: 'model' },
  {
    name: 'prompt over the context',
    path: '/v1/completions',
    body: comp({ prompt: 'x'.repeat(5000) }),
    param: 'prompt',
  },
  // encodings and structure
  {
    name: 'lone surrogate (not UTF-8 encodable)',
    raw: '{"model":"tiny-llama","messages":[{"role":"user","content":"a\\ud800b"}]}',
    param: 'messages[0].content',
  },
  {
    name: 'non-UTF-8 bytes',
    raw: Buffer.concat([
      Buffer.from('{"model":"tiny-llama","messages":[{"role":"user","content":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}]}'),
    ]),
    param: 'body',
  },
  { name: 'invalid JSON', raw: '{"model": "tiny-llama", "messages": [', param: 'body' },
  { name: 'empty body', raw: '', param: 'body' },
  {
    name: 'prototype poisoning',
    raw: '{"model":"tiny-llama","__proto__":{"x":1},"messages":[]}',
    param: 'body',
  },
  {
    name: 'deeply nested JSON in content',
    raw: `{"model":"tiny-llama","messages":[{"role":"user","content":${nested(20000)}}]}`,
    param: /^messages\[0\]\.content/,
  },
  {
    name: 'deeply nested JSON in an unknown field',
    raw: `{"model":"tiny-llama","messages":[],"x":${nested(50000)}}`,
    param: 'x',
  },
  { name: 'detokenize tokens not numbers', path: '/detokenize', body: { tokens: ['a'] }, param: 'tokens' },
  { name: 'tokenize prompt a number', path: '/tokenize', body: { prompt: 5 }, param: 'prompt' },
];

describe('inference bad input (table-driven)', () => {
  let app: InferenceApp;

  beforeAll(async () => {
    app = await startInferenceApp('badinput', { RATE_LIMIT: '100000/minute' });
  }, 120_000);
  afterAll(() => app?.close());

  it('has at least 40 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(40));

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await app.request('POST', c.path ?? '/v1/chat/completions', {
      apiKey: app.apiKey,
      ...(c.raw !== undefined
        ? { rawBody: c.raw, headers: { 'content-type': 'application/json' } }
        : { body: c.body }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    if (c.status) expect(res.status).toBe(c.status);
    expect(res.body).toEqual({
      error: {
        message: expect.any(String),
        type: expect.any(String),
        param: c.param === null ? expect.anything() : expect.any(String),
        code: expect.anything(),
      },
    });
    if (c.param instanceof RegExp) expect(res.body.error.param).toMatch(c.param);
    else if (c.param !== null) expect(res.body.error.param).toBe(c.param);
  });

  it('still serves after all of that', async () => {
    const ok = await app.request('POST', '/v1/chat/completions', { apiKey: app.apiKey, body: chat({}) });
    expect(ok.status).toBe(200);
    expect(ok.body.choices[0].message.role).toBe('assistant');
  });
});
