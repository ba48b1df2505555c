import { ModelRouter } from './model-router';

describe('ModelRouter', () => {
  const ids = ['a', 'b', 'c'];

  it('routes a model id to itself, then its fallbacks in order', () => {
    const r = new ModelRouter(ids, {}, { a: ['c', 'b'] });
    expect(r.route('a', 'key')).toEqual(['a', 'c', 'b']);
    expect(r.route('b', 'key')).toEqual(['b']);
    expect(r.route('nope', 'key')).toBeNull();
  });

  it('an alias picks by weight per request, and the pick brings its own fallbacks', () => {
    const r = new ModelRouter(ids, { ab: { targets: { a: 3, b: 1 }, assign: 'request' } }, { b: ['c'] });
    expect(r.route('ab', 'k', () => 0)).toEqual(['a']);
    expect(r.route('ab', 'k', () => 0.74)).toEqual(['a']);
    expect(r.route('ab', 'k', () => 0.75)).toEqual(['b', 'c']);
    expect(r.route('ab', 'k', () => 0.999)).toEqual(['b', 'c']);
    const counts = { a: 0, b: 0 };
    let seed = 1;
    const lcg = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 4000; i++) counts[r.route('ab', 'k', lcg)![0] as 'a' | 'b']++;
    expect(counts.a / 4000).toBeGreaterThan(0.7);
    expect(counts.a / 4000).toBeLessThan(0.8);
  });

  it("assign 'key' gives each key one model, always, and splits keys by weight", () => {
    const r = new ModelRouter(ids, { ab: { targets: { a: 1, b: 1 }, assign: 'key' } });
    const never = () => {
      throw new Error('a sticky alias must not draw at random');
    };
    const counts = { a: 0, b: 0 };
    for (let k = 0; k < 2000; k++) {
      const first = r.route('ab', `key-${k}`, never)![0];
      for (let again = 0; again < 3; again++) expect(r.route('ab', `key-${k}`, never)![0]).toBe(first);
      counts[first as 'a' | 'b']++;
    }
    expect(counts.a / 2000).toBeGreaterThan(0.45);
    expect(counts.a / 2000).toBeLessThan(0.55);
  });

  it('lists aliases and their targets', () => {
    const r = new ModelRouter(ids, { x: { targets: { c: 1, a: 2 }, assign: 'request' } });
    expect(r.aliasNames).toEqual(['x']);
    expect(r.aliasTargets('x')).toEqual(['c', 'a']);
    expect(r.aliasTargets('a')).toBeUndefined();
  });

  it.each([
    [['a', 'a'], {}, {}, /model id 'a' is served twice/],
    [
      ids,
      { a: { targets: { b: 1 }, assign: 'request' } },
      {},
      /aliases\.a: an alias cannot have a served model's id/,
    ],
    [
      ids,
      { x: { targets: { z: 1 }, assign: 'request' } },
      {},
      /aliases\.x\.targets: 'z' is not a served model \(a, b, c\)/,
    ],
    [ids, {}, { z: ['a'] }, /fallbacks: 'z' is not a served model/],
    [ids, {}, { a: ['z'] }, /fallbacks\.a\[0\]: 'z' is not a served model/],
    [ids, {}, { a: ['a'] }, /fallbacks\.a\[0\]: a model cannot fall back to itself/],
    [ids, {}, { a: ['b', 'b'] }, /fallbacks\.a\[1\]: 'b' is listed twice/],
  ] as const)('refuses inconsistent routes (%#)', (served, aliases, fallbacks, message) => {
    expect(() => new ModelRouter(served, aliases as never, fallbacks as never)).toThrow(message);
  });
});
