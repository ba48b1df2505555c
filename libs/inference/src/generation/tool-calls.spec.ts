import { ToolUse } from '../api/tools-request';
import { mayBeToolCall, parseToolCall } from './tool-calls';

const use: ToolUse = {
  tools: [{ name: 'get_weather', parameters: { type: 'object', properties: {} } }],
  choice: 'auto',
};

describe('parseToolCall (Llama JSON tool-call format)', () => {
  it('reads {"name", "parameters"} and {"name", "arguments"} calls to a known tool', () => {
    const call = parseToolCall(' {"name": "get_weather", "parameters": {"city": "Oslo"}}\n', use);
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(call!.function.arguments)).toEqual({ city: 'Oslo' });
    expect(call!.id).toMatch(/^call-/);
    expect(parseToolCall('{"name": "get_weather", "arguments": {}}', use)?.function.arguments).toBe('{}');
  });

  it('leaves answers, unknown tools, bad JSON and tool_choice none alone', () => {
    expect(parseToolCall('It is sunny.', use)).toBeNull();
    expect(parseToolCall('{"name": "launch", "parameters": {}}', use)).toBeNull();
    expect(parseToolCall('{"name": "get_weather", "parameters": [1]}', use)).toBeNull();
    expect(parseToolCall('{"name": "get_weather", "parameters": {}', use)).toBeNull();
    expect(parseToolCall('{"name": "get_weather", "parameters": {}}', { ...use, choice: 'none' })).toBeNull();
  });

  it('mayBeToolCall holds text back only while it can still become a call', () => {
    expect(mayBeToolCall('', use)).toBe(true);
    expect(mayBeToolCall('  \n', use)).toBe(true);
    expect(mayBeToolCall(' {"na', use)).toBe(true);
    expect(mayBeToolCall('Sure', use)).toBe(false);
    expect(mayBeToolCall('{', { ...use, choice: 'none' })).toBe(false);
  });
});
