import { readFileSync } from 'node:fs';
import { jsonFileChecks } from '@app/common';

/** A model's prices per million tokens. */
export interface ModelPrice {
  input: number;
  /** Prompt tokens served from the prefix cache (default: `input`). */
  cachedInput: number;
  output: number;
}

/** PRICES_FILE: what usage costs, per model and lane. */
export interface PriceList {
  currency: string;
  models: ReadonlyMap<string, ModelPrice>;
  /** Lane → factor on its prices (e.g. batch 0.5, as OpenAI discounts batches); 1 when unnamed. */
  lanes: Readonly<Record<string, number>>;
}

/** A PRICES_FILE problem, with the JSON path of the offending value. */
export class PriceListError extends Error {}

function fail(where: string, why: string): never {
  throw new PriceListError(`PRICES_FILE: ${where}: ${why}`);
}

const { object, onlyKeys } = jsonFileChecks(fail);

function amount(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(where, 'must be a number >= 0');
  return v;
}

const LANES = ['interactive', 'standard', 'batch'];

/** Validates a price list document (see docs/api.md "Usage and costs"). */
export function parsePriceList(doc: unknown): PriceList {
  const root = object(doc, '$');
  onlyKeys(root, ['currency', 'models', 'lanes'], '$');
  const currency = root.currency ?? 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
    fail('$.currency', 'must be a three-letter currency code such as USD');
  const models = new Map<string, ModelPrice>();
  for (const [id, raw] of Object.entries(object(root.models, '$.models'))) {
    const at = `$.models.${id}`;
    const p = object(raw, at);
    onlyKeys(p, ['input', 'cached_input', 'output'], at);
    const input = amount(p.input, `${at}.input`);
    models.set(id, {
      input,
      cachedInput: p.cached_input === undefined ? input : amount(p.cached_input, `${at}.cached_input`),
      output: amount(p.output ?? 0, `${at}.output`),
    });
  }
  const lanes: Record<string, number> = {};
  for (const [lane, factor] of Object.entries(object(root.lanes ?? {}, '$.lanes'))) {
    if (!LANES.includes(lane)) fail(`$.lanes.${lane}`, `unknown lane (lanes: ${LANES.join(', ')})`);
    lanes[lane] = amount(factor, `$.lanes.${lane}`);
  }
  return { currency, models, lanes };
}

/** Reads and validates PRICES_FILE. */
export function loadPriceList(path: string): PriceList {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PriceListError(`PRICES_FILE: cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PriceListError(`PRICES_FILE: ${path} is not JSON: ${(err as Error).message}`);
  }
  return parsePriceList(doc);
}

export interface PricedUsage {
  model: string;
  lane: string;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
}

/** What `u` costs in the list's currency, or null when its model has no price. */
export function costOf(prices: PriceList, u: PricedUsage): number | null {
  const p = prices.models.get(u.model);
  if (!p) return null;
  const factor = prices.lanes[u.lane] ?? 1;
  const uncached = u.prompt_tokens - u.cached_tokens;
  const perMillion = uncached * p.input + u.cached_tokens * p.cachedInput + u.completion_tokens * p.output;
  return roundCost((perMillion / 1e6) * factor);
}

/** Costs keep 10 decimals: exact for any price with up to 4 decimals per million tokens. */
export function roundCost(x: number): number {
  return Math.round(x * 1e10) / 1e10;
}
