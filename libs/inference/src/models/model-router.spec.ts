import { ModelRouter, Routes } from './model-router';

describe('ModelRouter', () => {
  const ids = ['a', 'b', 'c'];
  const K = { apiKeyId: 'k' };
  const first = (r: ModelRouter, model: string, key = 'k', random?: () => number) =>
    r.route(model, { apiKeyId: key }, random)!.model;

  it('carries fallback_wait_ms with the routes of models that have fallbacks', () => {
    const r = new ModelRouter(ids, { fallbacks: { a: ['b'] }, fallbackWaitMs: 250 });
    expect(r.route('a', K)?.fallbackWaitMs).toBe(250);
    expect(r.route('b', K)?.fallbackWaitMs).toBeUndefined();
  });

  it('routes a model id to itself, with its fallbacks and context fallbacks in order', () => {
    const r = new ModelRouter(ids, { fallbacks: { a: ['c', 'b'] }, contextFallbacks: { a: ['b'] } });
    expect(r.route('a', K)).toEqual({ model: 'a', fallbacks: ['c', 'b'], contextFallbacks: ['b'] });
    expect(r.route('b', K)).toEqual({ model: 'b', fallbacks: [], contextFallbacks: [] });
    expect(r.route('nope', K)).toBeNull();
  });

  it('an alias picks by weight per request, and the pick brings its own fallbacks', () => {
    const r = new ModelRouter(ids, {
      aliases: { ab: { targets: { a: 3, b: 1 }, assign: 'request' } },
      fallbacks: { b: ['c'] },
    });
    expect(first(r, 'ab', 'k', () => 0)).toBe('a');
    expect(first(r, 'ab', 'k', () => 0.74)).toBe('a');
    expect(r.route('ab', K, () => 0.75)).toEqual({ model: 'b', fallbacks: ['c'], contextFallbacks: [] });
    expect(first(r, 'ab', 'k', () => 0.999)).toBe('b');
    const counts = { a: 0, b: 0 };
    let seed = 1;
    const lcg = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 4000; i++) counts[first(r, 'ab', 'k', lcg) as 'a' | 'b']++;
    expect(counts.a / 4000).toBeGreaterThan(0.7);
    expect(counts.a / 4000).toBeLessThan(0.8);
  });

  it("assign 'key' gives each key one model, always, and splits keys by weight", () => {
    const r = new ModelRouter(ids, { aliases: { ab: { targets: { a: 1, b: 1 }, assign: 'key' } } });
    const never = () => {
      throw new Error('a sticky alias must not draw at random');
    };
    const counts = { a: 0, b: 0 };
    for (let k = 0; k < 2000; k++) {
      const once = first(r, 'ab', `key-${k}`, never);
      for (let again = 0; again < 3; again++) expect(first(r, 'ab', `key-${k}`, never)).toBe(once);
      counts[once as 'a' | 'b']++;
    }
    expect(counts.a / 2000).toBeGreaterThan(0.45);
    expect(counts.a / 2000).toBeLessThan(0.55);
  });

  it("assign 'user' is sticky per end user across keys, and per key without a user", () => {
    const r = new ModelRouter(ids, { aliases: { ab: { targets: { a: 1, b: 1 }, assign: 'user' } } });
    const never = () => {
      throw new Error('a sticky alias must not draw at random');
    };
    const counts = { a: 0, b: 0 };
    for (let u = 0; u < 1000; u++) {
      const once = r.route('ab', { apiKeyId: 'k1', user: `user-${u}` }, never)!.model;
      expect(r.route('ab', { apiKeyId: 'k2', user: `user-${u}` }, never)!.model).toBe(once);
      counts[once as 'a' | 'b']++;
    }
    expect(counts.a / 1000).toBeGreaterThan(0.42);
    expect(counts.a / 1000).toBeLessThan(0.58);
    // Ids that differ only in their last characters split too (the hash's high bits pick).
    const sequential = { a: 0, b: 0 };
    for (let u = 0; u < 100; u++)
      sequential[r.route('ab', { apiKeyId: 'k', user: `user-${u}` }, never)!.model as 'a' | 'b']++;
    expect(sequential.a).toBeGreaterThan(35);
    expect(sequential.a).toBeLessThan(65);
    // No user: the key decides, as with assign 'key'.
    const byKey = new ModelRouter(ids, { aliases: { ab: { targets: { a: 1, b: 1 }, assign: 'key' } } });
    for (let k = 0; k < 50; k++)
      expect(r.route('ab', { apiKeyId: `key-${k}` }, never)!.model).toBe(
        byKey.route('ab', { apiKeyId: `key-${k}` }, never)!.model,
      );
  });

  it("assign 'least_busy' picks the target with the lowest load per unit of weight", () => {
    const r = new ModelRouter(ids, { aliases: { lb: { targets: { a: 3, b: 1 }, assign: 'least_busy' } } });
    const loads = (la: number, lb: number) => (id: string) => (id === 'a' ? la : lb);
    expect(r.route('lb', K, () => 0, loads(0.5, 0.1))!.model).toBe('b');
    expect(r.route('lb', K, () => 0.99, loads(0.1, 0.5))!.model).toBe('a');
    // a carries 3x the weight: 0.6 / 3 = 0.2 beats 0.3 / 1.
    expect(r.route('lb', K, () => 0.99, loads(0.6, 0.3))!.model).toBe('a');
    // Ties (idle): a weighted random pick among the tied.
    expect(r.route('lb', K, () => 0.74, loads(0, 0))!.model).toBe('a');
    expect(r.route('lb', K, () => 0.76, loads(0, 0))!.model).toBe('b');
  });

  it('lists aliases and their targets, and describes the table', () => {
    const r = new ModelRouter(ids, {
      aliases: { x: { targets: { c: 1, a: 2 }, assign: 'request' } },
      contextFallbacks: { a: ['c'] },
    });
    expect(r.aliasNames).toEqual(['x']);
    expect(r.aliasTargets('x')).toEqual(['c', 'a']);
    expect(r.aliasTargets('a')).toBeUndefined();
    expect(r.describe()).toEqual({
      aliases: { x: { targets: { c: 1, a: 2 }, assign: 'request' } },
      fallbacks: {},
      context_fallbacks: { a: ['c'] },
      fallback_wait_ms: null,
    });
  });

  it.each([
    [['a', 'a'], {}, /model id 'a' is served twice/],
    [
      ids,
      { aliases: { a: { targets: { b: 1 }, assign: 'request' } } },
      /aliases\.a: an alias cannot have a served model's id/,
    ],
    [
      ids,
      { aliases: { x: { targets: { z: 1 }, assign: 'request' } } },
      /aliases\.x\.targets: 'z' is not a served model \(a, b, c\)/,
    ],
    [ids, { fallbacks: { z: ['a'] } }, /fallbacks: 'z' is not a served model/],
    [ids, { fallbacks: { a: ['z'] } }, /fallbacks\.a\[0\]: 'z' is not a served model/],
    [ids, { fallbacks: { a: ['a'] } }, /fallbacks\.a\[0\]: a model cannot fall back to itself/],
    [ids, { fallbacks: { a: ['b', 'b'] } }, /fallbacks\.a\[1\]: 'b' is listed twice/],
    [ids, { contextFallbacks: { a: ['y'] } }, /context_fallbacks\.a\[0\]: 'y' is not a served model/],
  ] as [string[], Routes, RegExp][])('refuses inconsistent routes (%#)', (served, routes, message) => {
    expect(() => new ModelRouter(served, routes)).toThrow(message);
  });
});
