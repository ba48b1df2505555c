import { ApiError } from '@app/common';
import { inResponsesTerms, parseResponsesRequest } from './responses-request';

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as ApiError).body.error;
  }
  throw new Error('no error');
};

describe('parseResponsesRequest', () => {
  it('a string input is one user message; defaults as OpenAI reports them', () => {
    const r = parseResponsesRequest({ model: 'm', input: 'hi' });
    expect(r.input).toEqual([
      expect.objectContaining({
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: 'hi' }],
      }),
    ]);
    expect(r).toMatchObject({ instructions: null, previousResponseId: null, store: true, stream: false });
    expect(r.chat).toEqual({ model: 'm' });
    expect(r.echo).toMatchObject({
      temperature: 1,
      top_p: 1,
      tool_choice: 'auto',
      text: { format: { type: 'text' } },
    });
  });

  it("maps the Responses fields onto the chat request's", () => {
    const schema = { type: 'object', properties: {} };
    const r = parseResponsesRequest({
      model: 'm',
      input: [{ role: 'user', content: 'x' }],
      max_output_tokens: 32,
      temperature: 0.5,
      tools: [{ type: 'function', name: 'f', parameters: schema, strict: true }],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 's', schema, strict: true } },
      stream: true,
      include: ['message.output_text.logprobs'],
      top_logprobs: 2,
      safety_identifier: 'u1',
    });
    expect(r.chat).toEqual({
      model: 'm',
      temperature: 0.5,
      user: 'u1',
      max_completion_tokens: 32,
      tools: [{ type: 'function', function: { name: 'f', parameters: schema, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 's', schema, strict: true } },
      logprobs: true,
      top_logprobs: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(r.echo).toMatchObject({
      max_output_tokens: 32,
      user: 'u1',
      top_logprobs: 2,
      truncation: 'disabled',
    });
    expect(parseResponsesRequest({ model: 'm', input: 'x', truncation: 'auto' }).echo.truncation).toBe(
      'auto',
    );
  });

  it.each([
    [{ input: 'x', frobnicate: 1 }, 'frobnicate', 'unsupported_parameter'],
    [{ input: 'x', background: true }, 'background', 'unsupported_parameter'],
    [{ input: 'x', reasoning: { effort: 'high' } }, 'reasoning', 'unsupported_parameter'],
    [{ input: 'x', include: ['file_search_call.results'] }, 'include', 'unsupported_parameter'],
    [{ input: 'x', store: 'yes' }, 'store', 'invalid_type'],
    [{ input: 'x', truncation: 'middle' }, 'truncation', 'invalid_value'],
    [{ input: 'x', metadata: { k: 5 } }, 'metadata.k', 'invalid_type'],
    [{ input: 'x', tool_choice: { type: 'file_search' } }, 'tool_choice', 'invalid_value'],
    [{ input: 'x', text: { format: { type: 'yaml' } } }, 'text.format.type', 'invalid_value'],
    [{ input: [{ role: 'tool', content: 'x' }] }, 'input[0].role', 'invalid_value'],
    [{ input: [{ type: 'function_call_output', output: 'x' }] }, 'input[0].call_id', 'invalid_type'],
    [{}, 'input', 'missing_required_parameter'],
  ])('%j: 400 naming %s', (body, param, code) => {
    expect(errorOf(() => parseResponsesRequest({ model: 'm', ...body }))).toMatchObject({ param, code });
  });
  it('names a missing model', () => {
    expect(errorOf(() => parseResponsesRequest({ input: 'x' }))).toMatchObject({ param: 'model' });
  });
});

describe('inResponsesTerms', () => {
  it("renames the chat parser's parameters in the param and the message", () => {
    const chat = ApiError.badRequest(
      "0 is less than the minimum of 1 - 'max_completion_tokens'.",
      'max_completion_tokens',
    );
    expect((inResponsesTerms(chat) as ApiError).body.error).toMatchObject({
      param: 'max_output_tokens',
      message: "0 is less than the minimum of 1 - 'max_output_tokens'.",
    });
    const tool = ApiError.badRequest("'tools[1].function.name' must be ...", 'tools[1].function.name');
    expect((inResponsesTerms(tool) as ApiError).body.error.param).toBe('tools[1].name');
    const schema = ApiError.badRequest('bad', 'response_format.json_schema.schema');
    expect((inResponsesTerms(schema) as ApiError).body.error.param).toBe('text.format.schema');
  });
  it('leaves other errors as they are', () => {
    const e = ApiError.badRequest('x', 'temperature');
    expect(inResponsesTerms(e)).toBe(e);
    const plain = new Error('y');
    expect(inResponsesTerms(plain)).toBe(plain);
  });
});
