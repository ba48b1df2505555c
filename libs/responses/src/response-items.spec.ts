import { chatMessages, readInput } from './response-items';

describe('readInput / chatMessages', () => {
  it('items become chat turns: instructions first, consecutive calls one assistant turn, outputs tool turns', () => {
    const items = readInput([
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'a' },
          { type: 'input_text', text: 'b' },
        ],
      },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{"x":1}' },
      { type: 'function_call', call_id: 'c2', name: 'g', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'one' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'two' }] },
      { type: 'message', role: 'assistant', content: 'done' },
    ]);
    expect(items.map((i) => i.id)).toEqual([
      expect.stringMatching(/^msg_/),
      expect.stringMatching(/^fc_/),
      expect.stringMatching(/^fc_/),
      expect.stringMatching(/^fco_/),
      expect.stringMatching(/^fco_/),
      expect.stringMatching(/^msg_/),
    ]);
    expect(items[5]).toMatchObject({ content: [{ type: 'output_text', text: 'done', annotations: [] }] });
    expect(chatMessages('be brief', items)).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'ab' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
          { id: 'c2', type: 'function', function: { name: 'g', arguments: '{}' } },
        ],
      },
      { role: 'tool', content: 'one', tool_call_id: 'c1' },
      { role: 'tool', content: 'two', tool_call_id: 'c2' },
      { role: 'assistant', content: 'done' },
    ]);
  });

  it('keeps the ids a client gave its items', () => {
    expect(readInput([{ id: 'msg_mine', role: 'user', content: 'x' }])[0].id).toBe('msg_mine');
  });
});
