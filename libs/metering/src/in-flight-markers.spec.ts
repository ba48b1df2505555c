import { InFlightMarkers } from './in-flight-markers';
import { UsageEventInput } from './usage-event';

const marker = (id: string): UsageEventInput => ({
  requestId: id,
  tenantId: '00000000-0000-4000-8000-000000000001',
  apiKeyId: '00000000-0000-4000-8000-000000000002',
  model: 'm',
  lane: 'standard',
  promptTokens: 10,
  cachedTokens: 0,
  completionTokens: 0,
  status: 'error',
  ttftMs: null,
  durationMs: 0,
  startedAt: new Date(0),
  endedAt: new Date(0),
});

const ids = (ms: UsageEventInput[]) => ms.map((m) => `${m.requestId}:${m.completionTokens}`);

describe('InFlightMarkers', () => {
  it('a marker is due once its request has run minAge, again only when its tokens changed', () => {
    const f = new InFlightMarkers(100);
    const a = marker('a');
    const b = marker('b');
    f.open(a, 1_000);
    f.open(b, 1_050);
    expect(ids(f.due(1_099))).toEqual([]); // nobody old enough: short requests never cost a write
    expect(ids(f.due(1_100))).toEqual(['a:0']);
    expect(ids(f.due(1_120))).toEqual([]); // journaled, unchanged
    a.completionTokens = 5; // the request's choices count into its marker
    b.completionTokens = 2;
    expect(ids(f.due(1_150))).toEqual(['a:5', 'b:2']);
    expect(ids(f.due(1_200))).toEqual([]);
  });

  it('after a rotation every old-enough marker is due again; finished ones never', () => {
    const f = new InFlightMarkers(100);
    f.open(marker('a'), 0);
    f.open(marker('b'), 0);
    f.open(marker('c'), 150);
    expect(ids(f.due(200))).toEqual(['a:0', 'b:0']);
    f.finish('b');
    f.rotated();
    expect(ids(f.due(200))).toEqual(['a:0']);
    expect(f.size).toBe(2);
    expect(ids(f.takeAll())).toEqual(['a:0', 'c:0']);
    expect(f.size).toBe(0);
  });
});
