import { ApiError } from '@app/common';
import { forcedCallSchema, forcedTools, toolCallSchema, ToolSpec } from './tools-request';

const tool = (
  name: string,
  parameters: Record<string, unknown> = { type: 'object', properties: {} },
): ToolSpec => ({
  name,
  parameters,
});

describe('forced tool calls', () => {
  const a = tool('a', {
    type: 'object',
    properties: { x: { $ref: '#/$defs/X' } },
    $defs: { X: { type: 'string' } },
  });
  const b = tool('b', {
    type: 'object',
    properties: { y: { $ref: '#/$defs/X' } },
    $defs: { X: { type: 'string' } },
  });

  it('forces all tools for required, the named one, or none', () => {
    expect(forcedTools({ tools: [a, b], choice: 'required', parallel: true })).toEqual([a, b]);
    expect(forcedTools({ tools: [a, b], choice: { name: 'b' }, parallel: true })).toEqual([b]);
    expect(forcedTools({ tools: [a, b], choice: 'auto', parallel: true })).toEqual([]);
    expect(forcedTools({ tools: [a, b], choice: 'none', parallel: true })).toEqual([]);
  });

  it("is one tool's call schema, or an anyOf of calls with their definitions merged at the root", () => {
    expect(forcedCallSchema([a])).toEqual(toolCallSchema(a));
    const both = forcedCallSchema([a, b]);
    expect(both.$defs).toEqual({ X: { type: 'string' } });
    const branches = both.anyOf as Record<string, unknown>[];
    expect(branches.map((c) => (c.properties as { name: unknown }).name)).toEqual([
      { const: 'a' },
      { const: 'b' },
    ]);
    for (const c of branches) {
      expect(c.$defs).toBeUndefined();
      expect(c.required).toEqual(['name', 'parameters']);
    }
  });

  it('refuses two tools that define one name differently', () => {
    const c = tool('c', { type: 'object', $defs: { X: { type: 'integer' } } });
    let error: unknown;
    try {
      forcedCallSchema([a, c]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).body.error).toMatchObject({
      param: 'tools',
      message: expect.stringMatching(/define '\$defs\/X' differently/),
    });
  });
});
