import { generateApiKey, hashSecret, parseApiKey, verifySecret } from './key-format';

describe('API key format', () => {
  it('generates sk-<prefix>-<secret> keys with a 256-bit secret and stores only its SHA-256', () => {
    const { key, prefix, secretHash } = generateApiKey();
    expect(key).toMatch(/^sk-[a-z0-9]{12}-[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(key)!;
    expect(parsed.prefix).toBe(prefix);
    expect(Buffer.from(parsed.secret, 'base64url')).toHaveLength(32);
    expect(secretHash).toBe(hashSecret(parsed.secret));
    expect(secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(secretHash).not.toContain(parsed.secret);
  });

  it('never repeats prefixes or secrets', () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey());
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);
  });

  it('prefix characters are spread over the whole alphabet', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++)
      for (const c of generateApiKey().prefix) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(36);
    for (const n of counts.values()) expect(n).toBeGreaterThan(200); // expected 333 each
  });

  it('verifies the right secret and rejects others', () => {
    const { key, secretHash } = generateApiKey();
    const { secret } = parseApiKey(key)!;
    expect(verifySecret(secret, secretHash)).toBe(true);
    const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    expect(verifySecret(flipped, secretHash)).toBe(false);
    expect(verifySecret(secret, 'ab')).toBe(false);
    expect(verifySecret(secret, '')).toBe(false);
  });

  it.each([
    [undefined],
    [42],
    [''],
    ['sk-'],
    ['sk-abc-def'],
    ['pk-aaaaaaaaaaaa-' + 'A'.repeat(43)],
    ['sk-AAAAAAAAAAAA-' + 'A'.repeat(43)],
    ['sk-aaaaaaaaaaaa-' + 'A'.repeat(42)],
    ['sk-aaaaaaaaaaaa-' + 'A'.repeat(44)],
    ['sk-aaaaaaaaaaaa-' + 'A'.repeat(42) + '!'],
    [' sk-aaaaaaaaaaaa-' + 'A'.repeat(43)],
  ])('rejects malformed key %p', (value) => {
    expect(parseApiKey(value)).toBeNull();
  });
});
