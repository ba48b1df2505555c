/**
 * Agreement of our native engine with an independent implementation, llama.cpp (node-llama-cpp's
 * prebuilt CPU binary, test/oracle/install.sh): the tiny and the mid fixtures are written fresh,
 * converted to GGUF with F32 weights by our own writer, and a fixed prompt is evaluated by both.
 * Every position's logits must agree within 1e-4 (max abs diff), and the greedy 32-token
 * continuations (ours through the addon Engine at temperature 0) must be identical, and the
 * embedding of the prompt (an embed request: the last token's final-normed hidden state) must
 * match llama.cpp's output embedding. A GGUF with the Q/K permutation left out must NOT agree, so
 * the comparison can fail.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const addonPath = join(root, 'native/build/Release/llm_engine.node');
const TOLERANCE = 1e-4;
const GREEDY_TOKENS = 32;

// "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nThe quick brown fox, 12 émoji 😀"
// as token ids of the fixture's byte-level tokenizer (bytes 0..255, specials from 256).
const PROMPT = [
  256, 262, 117, 115, 101, 114, 263, 10, 10, 84, 104, 101, 32, 113, 117, 105, 99, 107, 32, 98, 114, 111, 119,
  110, 32, 102, 111, 120, 44, 32, 49, 50, 32, 195, 169, 109, 111, 106, 105, 32, 240, 159, 152, 128,
];

interface LlamaResult {
  logits: number[][];
  greedy: number[];
  embedding?: number[];
}

interface EngineEvent {
  id: string;
  newTokens: number[];
  embedding?: Float32Array;
  finished: boolean;
  reason?: string;
  error?: string;
}

interface Addon {
  computeLogits(opts: {
    modelPath: string;
    tokens: number[];
    device?: string;
    threads?: number;
  }): Float32Array;
  Engine: new (
    opts: Record<string, unknown>,
    onEvents: (events: EngineEvent[]) => void,
  ) => { add(req: Record<string, unknown>): void; close(): void };
}

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, maxBuffer: 1 << 28, encoding: 'utf8' });
}

function llamaEval(gguf: string, tokens: number[], greedy: number, embedding = false): LlamaResult {
  return JSON.parse(
    node([join(root, 'test/oracle/llama-eval.mjs'), JSON.stringify({ gguf, tokens, greedy, embedding })]),
  );
}

function embedOurs(addon: Addon, modelPath: string, tokens: number[]): Promise<Float32Array> {
  return new Promise((resolvePromise, reject) => {
    const engine = new addon.Engine(
      { modelPath, device: 'cpu', threads: 1, kvCacheBytes: 16 << 20 },
      (events) => {
        for (const e of events)
          if (e.finished) {
            setImmediate(() => engine.close());
            if (e.embedding) resolvePromise(e.embedding);
            else reject(new Error(e.error ?? `no embedding (${e.reason})`));
          }
      },
    );
    engine.add({ id: 'embed', promptTokens: tokens, embed: true });
  });
}

function maxAbsDiffPerPosition(ours: Float32Array, theirs: number[][], vocab: number): number[] {
  return theirs.map((row, pos) => {
    expect(row.length).toBe(vocab);
    let m = 0;
    for (let v = 0; v < vocab; v++) m = Math.max(m, Math.abs(ours[pos * vocab + v] - row[v]));
    return m;
  });
}

function greedyOurs(addon: Addon, modelPath: string, tokens: number[], n: number): Promise<number[]> {
  return new Promise((resolvePromise, reject) => {
    const out: number[] = [];
    const timer = setTimeout(() => reject(new Error('greedy generation timed out')), 60_000);
    const engine = new addon.Engine(
      { modelPath, device: 'cpu', threads: 1, kvCacheBytes: 16 << 20 },
      (events) => {
        for (const e of events) {
          out.push(...e.newTokens);
          if (e.finished) {
            clearTimeout(timer);
            setImmediate(() => engine.close());
            if (e.reason === 'error') reject(new Error(e.error));
            else resolvePromise(out);
          }
        }
      },
    );
    engine.add({
      id: 'oracle',
      promptTokens: tokens,
      sampling: { temperature: 0, maxTokens: n, ignoreEos: true },
    });
  });
}

describe('llama.cpp oracle', () => {
  let dir: string;
  let addon: Addon;

  beforeAll(() => {
    execFileSync('bash', [join(root, 'test/oracle/install.sh')], { cwd: root, stdio: 'pipe' });
    if (!existsSync(addonPath)) throw new Error(`${addonPath} is missing: run npm run build:native`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(addonPath) as Addon;
    dir = mkdtempSync(join(tmpdir(), 'llm-oracle-'));
    for (const size of ['tiny', 'mid']) {
      node([join(root, 'test/fixtures/make-tiny-model.mjs'), '--out', join(dir, size), '--size', size]);
      node([join(root, 'test/oracle/to-gguf.mjs'), join(dir, size), join(dir, `${size}.gguf`)]);
    }
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const size of ['tiny', 'mid']) {
    it(`${size}: logits agree at every position, greedy continuations are identical, embeddings match`, async () => {
      const modelPath = join(dir, size);
      const theirs = llamaEval(join(dir, `${size}.gguf`), PROMPT, GREEDY_TOKENS, true);
      const ours = addon.computeLogits({ modelPath, tokens: PROMPT, device: 'cpu' });
      const vocab = ours.length / PROMPT.length;
      expect(Number.isInteger(vocab)).toBe(true);
      expect(theirs.logits).toHaveLength(PROMPT.length);
      const diffs = maxAbsDiffPerPosition(ours, theirs.logits, vocab);
      const worst = Math.max(...diffs);
      console.log(
        `${size}: max abs logit diff vs llama.cpp over ${PROMPT.length} positions: ${worst.toExponential(2)}`,
      );
      diffs.forEach((d) => expect(d).toBeLessThanOrEqual(TOLERANCE));

      const mine = await greedyOurs(addon, modelPath, PROMPT, GREEDY_TOKENS);
      expect(theirs.greedy).toHaveLength(GREEDY_TOKENS);
      expect(mine).toEqual(theirs.greedy);
      expect(new Set(mine).size).toBeGreaterThan(1); // a real continuation, not one token repeated

      const vector = await embedOurs(addon, modelPath, PROMPT);
      expect(theirs.embedding).toHaveLength(vector.length);
      const embedDiff = Math.max(...theirs.embedding!.map((x, i) => Math.abs(x - vector[i])));
      console.log(`${size}: max abs embedding diff vs llama.cpp: ${embedDiff.toExponential(2)}`);
      expect(embedDiff).toBeLessThanOrEqual(TOLERANCE);
    }, 120_000);
  }

  it('a wrong conversion (no Q/K permutation) is detected', () => {
    const bad = join(dir, 'tiny-unpermuted.gguf');
    node([join(root, 'test/oracle/to-gguf.mjs'), join(dir, 'tiny'), bad, '--no-permute']);
    const theirs = llamaEval(bad, PROMPT, 0);
    const ours = addon.computeLogits({ modelPath: join(dir, 'tiny'), tokens: PROMPT, device: 'cpu' });
    const diffs = maxAbsDiffPerPosition(ours, theirs.logits, ours.length / PROMPT.length);
    expect(diffs[0]).toBeLessThanOrEqual(TOLERANCE); // position 0 attends only to itself: RoPE-free
    expect(Math.max(...diffs)).toBeGreaterThan(1e-2);
  }, 120_000);
});
