/**
 * Tool calls in the "pythonic" format of Llama 3.2's and Llama 4's tool templates:
 * `[get_weather(city="Oslo", days=2), noop()]`, keyword arguments with Python literals (strings,
 * numbers, True/False/None, lists, dicts with string keys). Returns each call's name and
 * arguments object, or null when the text is not exactly such a list.
 */
export function parsePythonicCalls(text: string): { name: string; args: Record<string, unknown> }[] | null {
  const p = new Parser(text.trim());
  try {
    const calls = p.callList();
    p.space();
    return p.done() ? calls : null;
  } catch {
    return null;
  }
}

class NotPythonic extends Error {}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i === this.s.length;
  }

  space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private eat(ch: string): boolean {
    this.space();
    if (this.s[this.i] !== ch) return false;
    this.i++;
    return true;
  }

  private expect(ch: string): void {
    if (!this.eat(ch)) throw new NotPythonic(`expected '${ch}' at ${this.i}`);
  }

  /** `open` items separated by ',' (a trailing one allowed) up to `close`. */
  private items(close: string, item: () => void): void {
    if (this.eat(close)) return;
    for (;;) {
      item();
      if (this.eat(close)) return;
      this.expect(',');
      if (this.eat(close)) return;
    }
  }

  private identifier(): string {
    this.space();
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.s.slice(this.i));
    if (!m) throw new NotPythonic(`expected a name at ${this.i}`);
    this.i += m[0].length;
    return m[0];
  }

  callList(): { name: string; args: Record<string, unknown> }[] {
    this.expect('[');
    const calls: { name: string; args: Record<string, unknown> }[] = [];
    this.items(']', () => {
      const name = this.identifier();
      const args: Record<string, unknown> = {};
      this.expect('(');
      this.items(')', () => {
        const key = this.identifier();
        this.expect('=');
        args[key] = this.value();
      });
      calls.push({ name, args });
    });
    if (calls.length === 0) throw new NotPythonic('no call');
    return calls;
  }

  private value(): unknown {
    this.space();
    const ch = this.s[this.i];
    if (ch === '"' || ch === "'") return this.string(ch);
    if (ch === '[') {
      this.i++;
      const list: unknown[] = [];
      this.items(']', () => list.push(this.value()));
      return list;
    }
    if (ch === '{') {
      this.i++;
      const dict: Record<string, unknown> = {};
      this.items('}', () => {
        this.space();
        const q = this.s[this.i];
        if (q !== '"' && q !== "'") throw new NotPythonic('dict keys must be strings');
        const key = this.string(q);
        this.expect(':');
        dict[key] = this.value();
      });
      return dict;
    }
    const m = /^(True|False|None|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.i));
    if (!m) throw new NotPythonic(`expected a value at ${this.i}`);
    this.i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0]);
  }

  private string(quote: string): string {
    const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
    let out = '';
    for (this.i++; this.i < this.s.length; this.i++) {
      const ch = this.s[this.i];
      if (ch === quote) {
        this.i++;
        return out;
      }
      if (ch === '\\') {
        const next = this.s[++this.i];
        if (next === undefined) break;
        out += escapes[next] ?? `\\${next}`;
      } else out += ch;
    }
    throw new NotPythonic('unterminated string');
  }
}
