import { ApiError } from '@app/common';

type Body = Record<string, unknown>;

/** A 400 in OpenAI's shape naming the parameter. */
export function invalid(param: string, message: string, code = 'invalid_value'): ApiError {
  return ApiError.badRequest(message, param, code);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when a string cannot be encoded as UTF-8 (a lone surrogate, e.g. from "\ud800"). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** A JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** A 400 naming `at.key` for the first key of `obj` that is not one of `fields`. */
export function onlyFields(obj: Record<string, unknown>, at: string, fields: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!fields.includes(key))
      throw invalid(`${at}.${key}`, `Unrecognized ${at} field: ${key}`, 'unsupported_parameter');
  }
}

/** OpenAI's rule for function and schema names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The request body as an object, or a 400 naming 'body'. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) {
    throw invalid('body', 'The request body must be a JSON object.', 'invalid_type');
  }
  return body as Record<string, unknown>;
}

/** Reads and checks the optional fields of a JSON body; every error names its parameter. */
export class ParamReader {
  constructor(private readonly body: Body) {}

  /** Rejects fields outside `allowed`, naming the first one. */
  onlyKnown(allowed: ReadonlySet<string>, unsupported: Record<string, string> = {}): void {
    for (const key of Object.keys(this.body)) {
      if (allowed.has(key)) continue;
      const why = unsupported[key];
      throw invalid(
        key,
        why ? `Unsupported parameter: '${key}' ${why}` : `Unrecognized request argument supplied: ${key}`,
        'unsupported_parameter',
      );
    }
  }

  has(name: string): boolean {
    const v = this.body[name];
    return v !== undefined && v !== null;
  }

  raw(name: string): unknown {
    return this.body[name];
  }

  number(name: string, opts: { min?: number; max?: number; int?: boolean } = {}): number | undefined {
    if (!this.has(name)) return undefined;
    return checkNumber(name, this.body[name], opts);
  }

  bool(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (typeof v !== 'boolean')
      throw invalid(name, `'${name}' must be a boolean, got ${typeName(v)}.`, 'invalid_type');
    return v;
  }

  string(name: string, opts: { maxLength?: number; values?: readonly string[] } = {}): string | undefined {
    if (!this.has(name)) return undefined;
    return checkString(name, this.body[name], opts);
  }

  object(name: string): Record<string, unknown> | undefined {
    if (!this.has(name)) return undefined;
    const v = this.body[name];
    if (!isPlainObject(v)) {
      throw invalid(name, `'${name}' must be an object, got ${typeName(v)}.`, 'invalid_type');
    }
    return v as Record<string, unknown>;
  }
}

export function checkNumber(
  name: string,
  v: unknown,
  opts: { min?: number; max?: number; int?: boolean } = {},
): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalid(
      name,
      `'${name}' must be a ${opts.int ? 'integer' : 'number'}, got ${typeName(v)}.`,
      'invalid_type',
    );
  }
  if (opts.int && !Number.isInteger(v))
    throw invalid(name, `'${name}' must be an integer, got ${v}.`, 'invalid_type');
  if (opts.min !== undefined && v < opts.min) {
    throw invalid(name, `${v} is less than the minimum of ${opts.min} - '${name}'.`);
  }
  if (opts.max !== undefined && v > opts.max) {
    throw invalid(name, `${v} is greater than the maximum of ${opts.max} - '${name}'.`);
  }
  return v;
}

export function checkString(
  name: string,
  v: unknown,
  opts: { maxLength?: number; values?: readonly string[]; nonEmpty?: boolean } = {},
): string {
  if (typeof v !== 'string')
    throw invalid(name, `'${name}' must be a string, got ${typeName(v)}.`, 'invalid_type');
  if (hasLoneSurrogate(v)) throw invalid(name, `'${name}' is not valid UTF-8 text.`, 'invalid_encoding');
  if (opts.nonEmpty && v.length === 0) throw invalid(name, `'${name}' must not be empty.`);
  if (opts.maxLength !== undefined && v.length > opts.maxLength) {
    throw invalid(name, `'${name}' is longer than ${opts.maxLength} characters.`);
  }
  if (opts.values && !opts.values.includes(v)) {
    throw invalid(
      name,
      `'${name}' must be one of ${opts.values.map((x) => `'${x}'`).join(', ')}, got '${v}'.`,
    );
  }
  return v;
}

export { typeName };

/**
 * OpenAI's `metadata` (batches, responses): at most 16 string values, keys up to 64 characters,
 * values up to 512; null when absent.
 */
export function readMetadata(v: unknown): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (!isPlainObject(v)) throw invalid('metadata', "'metadata' must be an object.", 'invalid_type');
  const entries = Object.entries(v);
  if (entries.length > 16) throw invalid('metadata', "'metadata' may hold at most 16 keys.");
  for (const [k, value] of entries) {
    if (k.length > 64)
      throw invalid('metadata', `The metadata key '${k.slice(0, 64)}…' is longer than 64 characters.`);
    checkString(`metadata.${k}`, value, { maxLength: 512 });
  }
  return v as Record<string, string>;
}
