import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, probes once after the cooldown, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 100, now: () => now });
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.canPass()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    expect(b.canPass()).toBe(false);
    now = 150;
    expect(b.state).toBe('half-open');
    expect(b.canPass()).toBe(true);
    b.begin();
    expect(b.canPass()).toBe(false); // one probe at a time
    b.success();
    expect(b.state).toBe('closed');
  });

  it('a failed probe opens the circuit again for a full cooldown', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: () => now });
    b.failure();
    now = 100;
    b.begin();
    b.failure();
    expect(b.state).toBe('open');
    now = 150;
    expect(b.canPass()).toBe(false);
    now = 200;
    expect(b.canPass()).toBe(true);
  });

  it('a success resets the consecutive failure count', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 100 });
    b.failure();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
  });
});
