import { parsePythonicCalls } from './pythonic-calls';

describe('parsePythonicCalls (Llama 3.2 / 4 pythonic tool calls)', () => {
  it('reads keyword arguments with Python literals', () => {
    expect(
      parsePythonicCalls(
        ` [get_weather(city="Oslo", days=2, metric=True), search(q='it\\'s "x"', tags=['a', "b"], opts={"k": None, 'n': -1.5e2},)]\n`,
      ),
    ).toEqual([
      { name: 'get_weather', args: { city: 'Oslo', days: 2, metric: true } },
      { name: 'search', args: { q: `it's "x"`, tags: ['a', 'b'], opts: { k: null, n: -150 } } },
    ]);
    expect(parsePythonicCalls('[noop()]')).toEqual([{ name: 'noop', args: {} }]);
  });

  it('is null for anything else', () => {
    for (const text of [
      '[]',
      '[1, 2]',
      'get_weather(city="Oslo")',
      '[get_weather("Oslo")]', // positional
      '[get_weather(city="Oslo"]',
      '[get_weather(city="Oslo")] and more',
      '[f(x={1: 2})]',
      '[f(x="unterminated)]',
      '[f(x=os.system("rm"))]',
    ])
      expect(parsePythonicCalls(text)).toBeNull();
  });
});
