import { checkString, invalid, isPlainObject, NAME_PATTERN, onlyFields, ParamReader } from './param-reader';

/** One function the model may call (OpenAI's `tools[i].function`). */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/**
 * The request's tools and how the model must use them: 'none' (plain text), 'auto' (text, or a
 * call the model writes as Llama's JSON `{"name": ..., "parameters": {...}}`), 'required' (one
 * call to one of the tools, decoding constrained), or a function name (a call to it, constrained).
 */
export interface ToolUse {
  tools: ToolSpec[];
  choice: 'none' | 'auto' | 'required' | { name: string };
  /** parallel_tool_calls (default true): 'auto' may read several calls from one answer. */
  parallel: boolean;
}

const MAX_TOOLS = 128;
function readTool(v: unknown, i: number): ToolSpec {
  const at = `tools[${i}]`;
  if (!isPlainObject(v)) throw invalid(at, `'${at}' must be an object.`, 'invalid_type');
  onlyFields(v, at, ['type', 'function']);
  if (v.type !== 'function') throw invalid(`${at}.type`, `'${at}.type' must be 'function'.`);
  const f = v.function;
  if (!isPlainObject(f))
    throw invalid(`${at}.function`, `'${at}.function' must be an object.`, 'invalid_type');
  onlyFields(f, `${at}.function`, ['name', 'description', 'parameters', 'strict']);
  if (typeof f.name !== 'string' || !NAME_PATTERN.test(f.name)) {
    throw invalid(
      `${at}.function.name`,
      `'${at}.function.name' must be 1 to 64 letters, digits, '_' or '-'.`,
    );
  }
  const tool: ToolSpec = { name: f.name, parameters: { type: 'object', properties: {} } };
  if (f.description !== undefined && f.description !== null)
    tool.description = checkString(`${at}.function.description`, f.description);
  if (f.parameters !== undefined && f.parameters !== null) {
    // The arguments of a call are an object: a schema of anything else could never be one.
    if (!isPlainObject(f.parameters) || (f.parameters.type !== undefined && f.parameters.type !== 'object')) {
      throw invalid(
        `${at}.function.parameters`,
        `'${at}.function.parameters' must be a JSON Schema of an object ({"type": "object", ...}).`,
        'invalid_type',
      );
    }
    tool.parameters = f.parameters.type === undefined ? { ...f.parameters, type: 'object' } : f.parameters;
  }
  if (f.strict !== undefined && f.strict !== null && typeof f.strict !== 'boolean')
    throw invalid(`${at}.function.strict`, `'${at}.function.strict' must be a boolean.`, 'invalid_type');
  return tool;
}

/** tools, tool_choice and parallel_tool_calls; null when the request has no tools. */
export function readToolUse(r: ParamReader): ToolUse | null {
  const parallel = r.bool('parallel_tool_calls') ?? true;
  if (!r.has('tools')) {
    if (r.has('tool_choice') && r.raw('tool_choice') !== 'none') {
      throw invalid('tool_choice', "'tool_choice' requires 'tools'.");
    }
    return null;
  }
  const raw = r.raw('tools');
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_TOOLS) {
    throw invalid('tools', `'tools' must be an array of 1 to ${MAX_TOOLS} tools.`, 'invalid_type');
  }
  const tools = raw.map(readTool);
  const names = new Set(tools.map((t) => t.name));
  if (names.size !== tools.length) throw invalid('tools', "'tools' must not repeat a function name.");
  const c = r.has('tool_choice') ? r.raw('tool_choice') : 'auto';
  if (c === 'none' || c === 'auto') return { tools, choice: c, parallel };
  if (c === 'required') return { tools, choice: 'required', parallel };
  if (
    isPlainObject(c) &&
    c.type === 'function' &&
    isPlainObject(c.function) &&
    typeof c.function.name === 'string'
  ) {
    if (!names.has(c.function.name)) {
      throw invalid(
        'tool_choice',
        `'tool_choice' names '${c.function.name.slice(0, 64)}', which is not in 'tools'.`,
      );
    }
    return { tools, choice: { name: c.function.name }, parallel };
  }
  throw invalid(
    'tool_choice',
    "'tool_choice' must be 'none', 'auto', 'required' or {type: 'function', function: {name}}.",
  );
}

/** The tools one of which the choice forces a call to: all for 'required', the named one, or none. */
export function forcedTools(use: ToolUse): ToolSpec[] {
  if (use.choice === 'required') return use.tools;
  if (typeof use.choice === 'object') {
    const name = use.choice.name;
    return use.tools.filter((t) => t.name === name);
  }
  return [];
}

/**
 * The JSON Schema of a call to `tool` in Llama's tool-call format. The parameters' `$defs` /
 * `definitions` move to the root, where `$ref`s are resolved.
 */
export function toolCallSchema(tool: ToolSpec): Record<string, unknown> {
  const { $defs, definitions, ...parameters } = tool.parameters;
  return {
    type: 'object',
    properties: { name: { const: tool.name }, parameters },
    required: ['name', 'parameters'],
    ...($defs !== undefined ? { $defs } : {}),
    ...(definitions !== undefined ? { definitions } : {}),
  };
}

/**
 * The JSON Schema of a call to any of `tools`: the one tool's call schema, or an anyOf of them
 * told apart by the function name (the engine reads it as a tagged union), their definitions
 * merged at the root. Two tools that define one name differently are refused.
 */
export function forcedCallSchema(tools: ToolSpec[]): Record<string, unknown> {
  if (tools.length === 1) return toolCallSchema(tools[0]);
  const defs: Record<'$defs' | 'definitions', Record<string, unknown>> = { $defs: {}, definitions: {} };
  const branches = tools.map((tool) => {
    const { $defs, definitions, ...call } = toolCallSchema(tool);
    for (const [key, table] of [
      ['$defs', $defs],
      ['definitions', definitions],
    ] as const) {
      if (!isPlainObject(table)) continue;
      for (const [name, def] of Object.entries(table)) {
        const had = defs[key][name];
        if (had !== undefined && JSON.stringify(had) !== JSON.stringify(def)) {
          throw invalid(
            'tools',
            `tool_choice 'required': two tools define '${key}/${name.slice(0, 64)}' differently; rename one.`,
            'unsupported_parameter',
          );
        }
        defs[key][name] = def;
      }
    }
    return call;
  });
  return {
    anyOf: branches,
    ...(Object.keys(defs.$defs).length ? { $defs: defs.$defs } : {}),
    ...(Object.keys(defs.definitions).length ? { definitions: defs.definitions } : {}),
  };
}
