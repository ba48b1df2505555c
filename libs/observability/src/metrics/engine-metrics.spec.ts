import { register } from 'prom-client';
import { EngineMetrics } from './engine-metrics';
import { ObservedEngine, ObservedEngineStats } from './observed-engine';
import { parsePromText, sampleSum } from './prom-text';

const stats = (over: Partial<ObservedEngineStats> = {}): ObservedEngineStats => ({
  running: 0,
  waiting: 0,
  kvBlocksUsed: 0,
  kvBlocksTotal: 10,
  prefixCacheQueries: 0,
  prefixCacheHits: 0,
  preemptions: 0,
  steps: 0,
  promptTokens: 0,
  generationTokens: 0,
  lastStepMs: 0,
  ...over,
});

/** A stand-in engine whose stats() and drainSteps() answer from queues, one entry per refresh. */
function fakeEngine(s: ObservedEngineStats[], drains?: { ms: number[]; tokens: number[] }[]): ObservedEngine {
  return {
    ready: true,
    stats: () => s.shift() ?? stats(),
    ...(drains ? { drainSteps: () => drains.shift() ?? { ms: [], tokens: [] } } : {}),
    generate: () => (async function* () {})(),
  };
}

async function series(model: string) {
  const samples = parsePromText(await register.metrics());
  return (name: string, labels: Record<string, string> = {}) =>
    sampleSum(samples, name, { model_name: model, ...labels });
}

describe('EngineMetrics per-step histograms', () => {
  it('records every drained step at its own time and token count', async () => {
    const engine = fakeEngine(
      [
        stats({ steps: 4, promptTokens: 5300, generationTokens: 17 }),
        stats({ steps: 4, promptTokens: 5300, generationTokens: 17 }),
      ],
      [{ ms: [0.5, 3, 30, 700], tokens: [1, 16, 300, 5000] }],
    );
    const metrics = new EngineMetrics(engine, { modelName: 'drained', provider: 'native', blockSize: 16 });
    metrics.refresh();
    metrics.refresh(); // nothing new: nothing added
    const v = await series('drained');
    expect(v('llm_engine_step_seconds_count')).toBe(4);
    expect(v('llm_engine_step_seconds_sum')).toBeCloseTo(0.7335, 6);
    expect(v('llm_engine_step_seconds_bucket', { le: '0.001' })).toBe(1);
    expect(v('llm_engine_step_seconds_bucket', { le: '0.005' })).toBe(2);
    expect(v('llm_engine_step_seconds_bucket', { le: '0.05' })).toBe(3);
    expect(v('llm_engine_step_seconds_bucket', { le: '0.5' })).toBe(3);
    expect(v('llm_engine_step_seconds_bucket', { le: '1' })).toBe(4);
    expect(v('llm_iteration_tokens_total_count')).toBe(4);
    expect(v('llm_iteration_tokens_total_sum')).toBe(5317);
    expect(v('llm_iteration_tokens_total_bucket', { le: '16' })).toBe(2);
    expect(v('llm_iteration_tokens_total_bucket', { le: '4096' })).toBe(3);
  });

  it('without drainSteps, records the steps since the last refresh at the last step time', async () => {
    const engine = fakeEngine([stats({ steps: 3, promptTokens: 20, generationTokens: 4, lastStepMs: 2 })]);
    const metrics = new EngineMetrics(engine, {
      modelName: 'approximated',
      provider: 'native',
      blockSize: 16,
    });
    metrics.refresh();
    const v = await series('approximated');
    expect(v('llm_engine_step_seconds_count')).toBe(3);
    expect(v('llm_engine_step_seconds_sum')).toBeCloseTo(0.006, 6);
    expect(v('llm_iteration_tokens_total_sum')).toBeCloseTo(24, 6);
  });
});
