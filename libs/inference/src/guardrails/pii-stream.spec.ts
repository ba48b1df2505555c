import { redactPii } from './pii';
import { PiiStreamRedactor } from './pii-stream';

/** Feeds `text` in pieces of `size` characters; returns what came out, piece by piece. */
function stream(text: string, size: number): string[] {
  const r = new PiiStreamRedactor();
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(r.push(text.slice(i, i + size)));
  out.push(r.flush());
  return out;
}

describe('PiiStreamRedactor', () => {
  const text =
    'Sure! Reach Jane at jane.doe@example.com or (555) 123-4567. Card: 4111 1111 1111 1111; ' +
    'IBAN DE89 3704 0044 0532 0130 00, server 10.0.0.12. Thanks, and have a good day.';

  it('gives the same text as redacting the whole, for any piece size', () => {
    for (const size of [1, 2, 3, 5, 7, 16, 64, 1000])
      expect(stream(text, size).join('')).toBe(redactPii(text));
  });

  it('never emits a piece of personal data, even split over many pieces', () => {
    for (const piece of stream(text, 1)) {
      expect(piece).not.toMatch(/jane|example|123-4567|1111|3704|10\.0/);
    }
  });

  it('holds back only the word that could still grow into a match', () => {
    const r = new PiiStreamRedactor();
    expect(r.push('Hello there, my')).toBe('Hello there, ');
    expect(r.push(' friend')).toBe('my ');
    expect(r.push(' 555')).toBe('friend ');
    expect(r.push(' 123')).toBe('');
    expect(r.push(' 4567 ok')).toBe('[PHONE] ');
    expect(r.flush()).toBe('ok');
    expect(r.redactions).toBe(1);
  });

  it('holds at most MAX_PII_LENGTH characters of unbroken text', () => {
    const r = new PiiStreamRedactor();
    const out = r.push('x'.repeat(1000));
    expect(out.length).toBeGreaterThan(500);
    expect(out + r.flush()).toBe('x'.repeat(1000));
  });
});
