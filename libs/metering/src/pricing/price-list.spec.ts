import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { costOf, loadPriceList, parsePriceList, PriceListError } from './price-list';

describe('price list (PRICES_FILE)', () => {
  const prices = parsePriceList({
    currency: 'EUR',
    models: { m: { input: 0.1, cached_input: 0.025, output: 0.4 }, e: { input: 0.02 } },
    lanes: { batch: 0.5 },
  });

  it('prices uncached and cached prompt tokens and completion tokens per million; lanes scale them', () => {
    expect(prices.currency).toBe('EUR');
    const usage = {
      model: 'm',
      lane: 'standard',
      prompt_tokens: 1000,
      cached_tokens: 400,
      completion_tokens: 500,
    };
    // 600 x 0.1 + 400 x 0.025 + 500 x 0.4 = 270 per million
    expect(costOf(prices, usage)).toBe(0.00027);
    expect(costOf(prices, { ...usage, lane: 'batch' })).toBe(0.000135);
    expect(costOf(prices, { ...usage, lane: 'interactive' })).toBe(0.00027);
    // cached_input defaults to input, output to 0 (an embeddings model)
    expect(costOf(prices, { ...usage, model: 'e', completion_tokens: 0 })).toBe(0.00002);
    expect(costOf(prices, { ...usage, model: 'unknown' })).toBeNull();
  });

  it('sums without floating-point noise', () => {
    const p = parsePriceList({ models: { m: { input: 0.1, output: 0.3 } } });
    expect(p.currency).toBe('USD');
    expect(
      costOf(p, { model: 'm', lane: 'standard', prompt_tokens: 3, cached_tokens: 0, completion_tokens: 7 }),
    ).toBe(0.0000024);
  });

  it.each([
    [[], '$: must be an object'],
    [{ models: {}, extra: 1 }, '$.extra: unknown field'],
    [{ models: { m: { input: -1 } } }, '$.models.m.input: must be a number >= 0'],
    [{ models: { m: { input: 1, out: 2 } } }, '$.models.m.out: unknown field'],
    [{ models: { m: { input: 1 } }, lanes: { fast: 0.5 } }, '$.lanes.fast: unknown lane'],
    [{ currency: 'dollars', models: {} }, '$.currency'],
    [{}, '$.models: must be an object'],
  ])('%j is refused: %s', (doc, message) => {
    expect(() => parsePriceList(doc)).toThrow(PriceListError);
    expect(() => parsePriceList(doc)).toThrow(message);
  });

  it('loadPriceList names the file when it cannot be read or parsed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    expect(() => loadPriceList(join(dir, 'missing.json'))).toThrow(/PRICES_FILE: cannot read/);
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => loadPriceList(join(dir, 'bad.json'))).toThrow(/is not JSON/);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ models: { m: { input: 1 } } }));
    expect(loadPriceList(join(dir, 'ok.json')).models.get('m')).toEqual({
      input: 1,
      cachedInput: 1,
      output: 0,
    });
  });
});
