import { describeChanges, modelChanges } from './model-changes';
import { DeploymentSpec } from './models-file';

describe('modelChanges', () => {
  const a: DeploymentSpec = { id: 'a', path: '/m/a' };
  const b: DeploymentSpec = { id: 'b', path: '/m/b', maxNumSeqs: 4 };
  const loaded = new Map([a, b].map((m) => [m.id, JSON.stringify(m)]));

  it('finds nothing when the models are the same', () => {
    expect(describeChanges(modelChanges(loaded, [a, b]))).toEqual({ added: [], replaced: [], removed: [] });
  });

  it('tells added, replaced (any field changed) and removed models apart', () => {
    const c = modelChanges(loaded, [
      { ...b, maxNumSeqs: 8 },
      { id: 'c', path: '/m/c' },
    ]);
    expect(describeChanges(c)).toEqual({ added: ['c'], replaced: ['b'], removed: ['a'] });
    expect(c.replaced[0].maxNumSeqs).toBe(8);
  });
});
