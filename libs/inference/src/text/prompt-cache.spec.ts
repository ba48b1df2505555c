import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readModelFiles } from './model-files';
import { ModelText } from './model-text';
import { PromptCache } from './prompt-cache';

describe('PromptCache', () => {
  const counting = () => {
    const calls: string[] = [];
    const compute = (key: string) => () => {
      calls.push(key);
      return [key.length, 1, 2];
    };
    return { calls, compute };
  };

  it('computes once per key, evicts the least recently used, and hands out copies', () => {
    const cache = new PromptCache(2);
    const { calls, compute } = counting();
    const a = cache.get('a', compute('a'));
    a.push(99); // the caller's copy
    expect(cache.get('a', compute('a'))).toEqual([1, 1, 2]);
    cache.get('bb', compute('bb'));
    cache.get('a', compute('a')); // a is now the most recent
    cache.get('ccc', compute('ccc')); // evicts bb
    cache.get('a', compute('a'));
    cache.get('bb', compute('bb'));
    expect(calls).toEqual(['a', 'bb', 'ccc', 'bb']);
    expect(cache.size).toBe(2);
    expect([cache.hits, cache.misses]).toEqual([3, 4]);
  });

  it('never caches long keys, errors, or anything when disabled', () => {
    const { calls, compute } = counting();
    const short = new PromptCache(8, 3);
    short.get('long', compute('long'));
    short.get('long', compute('long'));
    expect(() =>
      short.get('bad', () => {
        throw new Error('template failed');
      }),
    ).toThrow('template failed');
    short.get('bad', compute('bad'));
    const off = new PromptCache(0);
    off.get('x', compute('x'));
    off.get('x', compute('x'));
    expect(calls).toEqual(['long', 'long', 'bad', 'x', 'x']);
    expect(off.size).toBe(0);
  });
});

describe('ModelText prompt ids through the cache (tiny model)', () => {
  const root = join(__dirname, '..', '..', '..', '..');
  const dir = join(root, '.data', 'models', 'tiny-llama');
  beforeAll(() => {
    if (!existsSync(join(dir, 'config.json')))
      spawnSync(process.execPath, [join(root, 'test', 'fixtures', 'make-tiny-model.mjs'), '--out', dir], {
        stdio: 'inherit',
      });
  });

  it('gives exactly the uncached ids, per message list and per generation-prompt flag', () => {
    const text = new ModelText(readModelFiles(dir));
    const hi = [{ role: 'user' as const, content: 'Hi' }];
    const other = [{ role: 'user' as const, content: 'Hi', name: 'x' }];
    const direct = text.encode(text.renderChat(hi), false);
    expect(text.chatTokens(hi)).toEqual(direct);
    expect(text.chatTokens(hi)).toEqual(direct);
    expect(text.chatTokens(hi, false)).toEqual(text.encode(text.renderChat(hi, false), false));
    expect(text.chatTokens(other)).toEqual(text.encode(text.renderChat(other), false));
    expect(text.promptTokens('Hello', true)).toEqual(text.encode('Hello', true));
    expect(text.promptTokens('Hello', false)).toEqual(text.encode('Hello', false));
    expect(text.promptCache.hits).toBe(1);
    expect(text.promptCache.misses).toBe(5);
  });

  it('is off for a template that reads the clock', () => {
    const files = readModelFiles(dir);
    const template =
      "{{ bos_token }}{{ strftime_now('%d %b %Y') }}{% for m in messages %}{{ m.content }}{% endfor %}";
    const text = new ModelText({
      ...files,
      tokenizerConfig: { ...files.tokenizerConfig, chat_template: template },
    });
    const hi = [{ role: 'user' as const, content: 'Hi' }];
    expect(text.chatTokens(hi)).toEqual(text.encode(text.renderChat(hi), false));
    text.chatTokens(hi);
    expect(text.promptCache.size).toBe(0);
    expect(text.promptCache.maxEntries).toBe(0);
  });
});
