import { ToolUse } from '../api/tools-request';
import { ToolStreamGate } from './tool-stream';

const use: ToolUse = {
  tools: [{ name: 'f', parameters: { type: 'object', properties: {} } }],
  choice: 'auto',
  parallel: true,
};
const d = (index: number, text: string, finishReason?: 'stop' | 'length') => ({
  index,
  text,
  logprobs: [],
  finishReason,
});

describe('ToolStreamGate', () => {
  it('streams an answer once it cannot be a call, from the held text on', () => {
    const gate = new ToolStreamGate(use);
    expect(gate.push(d(0, '  '))).toEqual([]);
    expect(gate.push(d(0, 'Hi'))).toMatchObject([{ index: 0, content: '  Hi' }]);
    expect(gate.push(d(0, ' there', 'stop'))).toMatchObject([{ content: ' there', finishReason: 'stop' }]);
  });

  it('sends a held call as one tool call with finish_reason tool_calls', () => {
    const gate = new ToolStreamGate(use);
    expect(gate.push(d(1, '{"name": "f", '))).toEqual([]);
    const [part] = gate.push(d(1, '"parameters": {"x": 1}}', 'stop'));
    expect(part).toMatchObject({
      index: 1,
      finishReason: 'tool_calls',
      toolCalls: [{ function: { name: 'f' } }],
    });
    expect(JSON.parse(part.toolCalls![0].function.arguments)).toEqual({ x: 1 });
  });

  it('holds an array of calls back too, and sends every call in one part', () => {
    const gate = new ToolStreamGate(use);
    expect(gate.push(d(0, ' ['))).toEqual([]);
    const [part] = gate.push(
      d(0, '{"name": "f", "parameters": {}}, {"name": "f", "parameters": {"x": 2}}]', 'stop'),
    );
    expect(part.toolCalls!.map((c) => c.function.arguments)).toEqual(['{}', '{"x":2}']);
    // A '[' that turns out to be an answer is sent as content at the end.
    const answer = new ToolStreamGate({ ...use, parallel: false });
    expect(answer.push(d(0, '[1]'))).toEqual([]);
    expect(answer.push(d(0, ' is a list', 'stop'))).toMatchObject([
      { content: '[1] is a list', finishReason: 'stop' },
    ]);
  });

  it('a held text that is not a call after all (or was cut) is sent as content at the end', () => {
    const gate = new ToolStreamGate(use);
    gate.push(d(0, '{"name": "f", "parameters": {'));
    expect(gate.push(d(0, '', 'length'))).toMatchObject([
      { content: '{"name": "f", "parameters": {', finishReason: 'length' },
    ]);
    const other = new ToolStreamGate(use);
    other.push(d(2, '{not json'));
    expect(other.push(d(2, '}', 'stop'))).toMatchObject([{ content: '{not json}', finishReason: 'stop' }]);
  });
});
