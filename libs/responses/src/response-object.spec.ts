import { stateFromChat } from './response-object';

const chat = (message: object, finish_reason: string) => ({
  model: 'm',
  service_tier: 'default',
  usage: {
    prompt_tokens: 5,
    completion_tokens: 3,
    total_tokens: 8,
    prompt_tokens_details: { cached_tokens: 2 },
  },
  choices: [{ message: { content: null, ...message }, logprobs: null, finish_reason }],
});

describe('stateFromChat', () => {
  it('text: one assistant message; a cut at the token limit is incomplete', () => {
    const s = stateFromChat('resp_1', 7, chat({ content: 'hi' }, 'length'));
    expect(s).toMatchObject({ id: 'resp_1', createdAt: 7, status: 'incomplete', finishReason: 'length' });
    expect(s.output).toEqual([
      expect.objectContaining({
        type: 'message',
        role: 'assistant',
        status: 'incomplete',
        content: [{ type: 'output_text', text: 'hi', annotations: [] }],
      }),
    ]);
    expect(s.usage).toEqual({
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 2 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 8,
    });
  });
  it('tool calls: one function_call item each, keyed by the call id', () => {
    const calls = [
      { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } },
      { id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"x":1}' } },
    ];
    const s = stateFromChat('resp_2', 1, chat({ tool_calls: calls }, 'tool_calls'));
    expect(s.status).toBe('completed');
    expect(s.output).toEqual([
      expect.objectContaining({ type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{}' }),
      expect.objectContaining({ type: 'function_call', call_id: 'call_b', name: 'g', arguments: '{"x":1}' }),
    ]);
  });
});
