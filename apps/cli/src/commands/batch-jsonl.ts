import { existsSync, readFileSync } from 'node:fs';

/** Parsed lines of a JSONL file (blank lines skipped); a bad line fails with its line number. */
export function readJsonl(path: string, what: string): { line: number; value: unknown }[] {
  if (!existsSync(path)) throw new Error(`${what}: no such file: ${path}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${what}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const out: { line: number; value: unknown }[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    try {
      out.push({ line: i + 1, value: JSON.parse(line) });
    } catch {
      // A torn last line (an interrupted writer) is not an error in an output file; callers decide.
      throw new JsonlError(`${what}: ${path}:${i + 1}: not valid JSON`, i + 1, i === lines.length - 1);
    }
  });
  return out;
}

export class JsonlError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly lastLine: boolean,
  ) {
    super(message);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
