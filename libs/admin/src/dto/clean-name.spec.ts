import { isCleanName } from './clean-name';

describe('isCleanName', () => {
  it.each(['acme', '🦙 team', '租户', 'é', 'x'.repeat(200), "o'brien"])('accepts %p', (name) => {
    expect(isCleanName(name, 200)).toBe(true);
  });
  it.each([
    ['', 'empty'],
    ['x'.repeat(201), 'too long'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'newline'],
    ['a\ud800', 'lone surrogate'],
    ['a\u2029b', 'separator'],
    [5, 'number'],
    [null, 'null'],
  ])('rejects %p (%s)', (name, _why) => {
    expect(isCleanName(name, 200)).toBe(false);
  });
});
