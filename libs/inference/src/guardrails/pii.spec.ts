import { findPii, MAX_PII_LENGTH, redactPii } from './pii';

const kinds = (text: string) => findPii(text).map((m) => [m.kind, text.slice(m.start, m.end)]);

describe('findPii', () => {
  it('finds each kind, with checksums where the kind has one', () => {
    expect(kinds('mail jane.doe+x@mail.example.co.uk now')).toEqual([
      ['email', 'jane.doe+x@mail.example.co.uk'],
    ]);
    expect(kinds('card 4111 1111 1111 1111, or 4111-1111-1111-1112')).toEqual([
      ['credit_card', '4111 1111 1111 1111'],
    ]);
    expect(kinds('IBAN DE89 3704 0044 0532 0130 00 and GB82WEST12345698765432')).toEqual([
      ['iban', 'DE89 3704 0044 0532 0130 00'],
      ['iban', 'GB82WEST12345698765432'],
    ]);
    expect(kinds('IBAN DE88 3704 0044 0532 0130 00')).toEqual([]); // bad check digits
    expect(kinds('ssn 123-45-6789 but not 000-12-3456 or 666-12-3456')).toEqual([['us_ssn', '123-45-6789']]);
    expect(kinds('call (555) 123-4567, +44 20 7946 0958, 555.123.4567 or +4915112345678')).toEqual([
      ['phone', '(555) 123-4567'],
      ['phone', '+44 20 7946 0958'],
      ['phone', '555.123.4567'],
      ['phone', '+4915112345678'],
    ]);
    expect(kinds('host 192.168.1.20 not 300.1.1.1')).toEqual([['ip_address', '192.168.1.20']]);
  });

  it('leaves ordinary numbers alone', () => {
    for (const text of [
      'version 12.3456789',
      'on 2024-01-15 at 10:30',
      'pi is 3.14159265358979',
      'order #4111111111111112 shipped',
      'it costs 1 000 000 dollars',
      'no digits or at-signs here',
    ])
      expect(kinds(text)).toEqual([]);
  });

  it('replaces matches by placeholders', () => {
    expect(redactPii('write to a@b.io or call 555-123-4567.')).toBe('write to [EMAIL] or call [PHONE].');
  });

  it('bounds a match by MAX_PII_LENGTH', () => {
    const longest = `${'a'.repeat(64)}@${Array.from({ length: 4 }, () => 'b'.repeat(63)).join('.')}.${'c'.repeat(24)}`;
    const [m] = findPii(`x ${longest} y`);
    expect(m.end - m.start).toBe(longest.length);
    expect(longest.length).toBe(MAX_PII_LENGTH);
  });
});
