import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { IncrementalDetokenizer } from './incremental-detokenizer';
import { readModelFiles } from './model-files';
import { ModelText } from './model-text';
import { StopMatcher } from './stop-matcher';

const root = join(__dirname, '..', '..', '..', '..');
const dir = join(root, '.data', 'models', 'tiny-llama');

describe('model text (tiny model tokenizer.json + chat template)', () => {
  let text: ModelText;
  beforeAll(() => {
    if (!existsSync(join(dir, 'config.json'))) {
      spawnSync(process.execPath, [join(root, 'test', 'fixtures', 'make-tiny-model.mjs'), '--out', dir], {
        stdio: 'inherit',
      });
    }
    const files = readModelFiles(dir);
    text = new ModelText(files);
    expect(files.generation).toMatchObject({ temperature: 0.6, top_p: 0.9 });
  });

  it('renders the Llama 3 chat template with one BOS and the generation prompt', () => {
    const s = text.renderChat([{ role: 'user', content: 'Hi' }]);
    expect(s).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const ids = text.encode(s, false);
    expect(ids.filter((t) => t === 256)).toHaveLength(1);
    expect(text.decode(ids, false)).toBe(s);
  });

  it('detokenizes incrementally without ever emitting a broken UTF-8 character', () => {
    const s = 'aé😀世界b\u0000';
    const ids = text.encode(s, false);
    expect(ids.length).toBe(Buffer.byteLength(s)); // byte-level: one token per byte
    const d = new IncrementalDetokenizer((x) => text.decode(x));
    const pieces = ids.map((id) => d.push([id]));
    pieces.push(d.flush());
    expect(pieces.join('')).toBe(s);
    for (const p of pieces) expect(p.includes('\uFFFD')).toBe(false);
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0); // bytes of 😀 were held
  });

  it('flushes a genuinely invalid byte as U+FFFD instead of holding it forever', () => {
    const d = new IncrementalDetokenizer((x) => text.decode(x));
    const lone = text.encode('é', false)[0]; // first byte of a 2-byte sequence
    const out = d.push([lone]) + d.push(text.encode('abcd', false)) + d.flush();
    expect(out).toBe('\uFFFDabcd');
  });

  it('skips special tokens and gives token bytes for logprobs', () => {
    expect(text.decode([256, 104, 105, 265])).toBe('hi');
    expect(text.tokenInfo(104)).toEqual({ token: 'h', bytes: [104] });
    expect(text.tokenInfo(text.encode('é', false)[0]).bytes).toEqual([0xc3]);
  });
});

describe('StopMatcher', () => {
  const run = (stops: string[], pieces: string[]) => {
    const m = new StopMatcher(stops);
    let out = '';
    let stopped = false;
    for (const p of pieces) {
      const r = m.push(p);
      out += r.text;
      if (r.stopped) {
        stopped = true;
        break;
      }
    }
    if (!stopped) out += m.flush();
    return { out, stopped };
  };

  it('finds a stop string split across pieces and emits nothing of it', () => {
    expect(run(['END'], ['abc E', 'N', 'D more'])).toEqual({ out: 'abc ', stopped: true });
  });

  it('holds back only a possible prefix and releases it when it is not a stop', () => {
    const m = new StopMatcher(['END']);
    expect(m.push('abE').text).toBe('ab');
    expect(m.push('x').text).toBe('Ex');
  });

  it('takes the earliest of several stop strings; flushes held text at the end', () => {
    expect(run(['zz', 'b'], ['aab zz'])).toEqual({ out: 'aa', stopped: true });
    expect(run(['xyz'], ['abc', 'xy'])).toEqual({ out: 'abcxy', stopped: false });
  });
});
