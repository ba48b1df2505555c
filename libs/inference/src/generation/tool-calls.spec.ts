import { ToolUse } from '../api/tools-request';
import { mayBeToolCall, parseToolCalls } from './tool-calls';

const use: ToolUse = {
  tools: [{ name: 'get_weather', parameters: { type: 'object', properties: {} } }],
  choice: 'auto',
  parallel: true,
};
const parseToolCall = (text: string, u: ToolUse) => {
  const calls = parseToolCalls(text, u);
  if (calls && calls.length !== 1) throw new Error(`${calls.length} calls`);
  return calls?.[0] ?? null;
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

  it('reads several calls: a JSON array, or objects separated by ";", "," or whitespace', () => {
    const two = use.tools.concat([{ name: 'get_time', parameters: { type: 'object', properties: {} } }]);
    const u: ToolUse = { ...use, tools: two };
    const names = (text: string, v = u) => parseToolCalls(text, v)?.map((c) => c.function.name) ?? null;
    const a = '{"name": "get_weather", "parameters": {"city": "a;b}"}}';
    const b = '{"name": "get_time", "arguments": {}}';
    expect(names(`[${a}, ${b}]`)).toEqual(['get_weather', 'get_time']);
    expect(names(`${a}; ${b}`)).toEqual(['get_weather', 'get_time']);
    expect(names(`${a}\n${b}\n`)).toEqual(['get_weather', 'get_time']);
    expect(names(`${a},${b}`)).toEqual(['get_weather', 'get_time']);
    const ids = parseToolCalls(`${a}; ${a}`, u)!.map((c) => c.id);
    expect(new Set(ids).size).toBe(2);
    expect(JSON.parse(parseToolCalls(`${a}; ${b}`, u)![0].function.arguments)).toEqual({ city: 'a;b}' });
    // One bad call, text between calls, an empty array, or parallel_tool_calls false: an answer.
    expect(names(`${a}; {"name": "nope", "parameters": {}}`)).toBeNull();
    expect(names(`${a} and ${b}`)).toBeNull();
    expect(names('[]')).toBeNull();
    expect(names(`[${a}, 3]`)).toBeNull();
    expect(names(`${a}; ${b}`, { ...u, parallel: false })).toBeNull();
    expect(names(`[${a}]`, { ...u, parallel: false })).toEqual(['get_weather']);
  });

  it('reads the pythonic list of Llama 3.2 / 4 tool templates, one call or several', () => {
    const two = use.tools.concat([{ name: 'get_time', parameters: { type: 'object', properties: {} } }]);
    const u: ToolUse = { ...use, tools: two };
    const calls = parseToolCalls('[get_weather(city="Oslo", days=2), get_time()]', u)!;
    expect(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['get_weather', { city: 'Oslo', days: 2 }],
      ['get_time', {}],
    ]);
    expect(parseToolCalls('[get_weather(city="Oslo")]', { ...u, parallel: false })).toHaveLength(1);
    expect(parseToolCalls('[get_weather(city="Oslo"), get_time()]', { ...u, parallel: false })).toBeNull();
    expect(parseToolCalls('[launch(when="now")]', u)).toBeNull(); // not a tool of the request
  });

  it('mayBeToolCall holds text back only while it can still become a call', () => {
    expect(mayBeToolCall('', use)).toBe(true);
    expect(mayBeToolCall('  \n', use)).toBe(true);
    expect(mayBeToolCall(' {"na', use)).toBe(true);
    expect(mayBeToolCall('Sure', use)).toBe(false);
    expect(mayBeToolCall('{', { ...use, choice: 'none' })).toBe(false);
    expect(mayBeToolCall(' [{"na', use)).toBe(true);
    expect(mayBeToolCall('[', { ...use, parallel: false })).toBe(true); // one pythonic call
    expect(mayBeToolCall('Items: [', use)).toBe(false);
  });
});
