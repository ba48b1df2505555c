import { newCompletionId } from './completion-id';

describe('newCompletionId', () => {
  it('is the prefix and 16 base64url characters, distinct across pool refills', () => {
    const ids = Array.from({ length: 2000 }, () => newCompletionId('chatcmpl'));
    for (const id of ids) expect(id).toMatch(/^chatcmpl-[A-Za-z0-9_-]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newCompletionId('cmpl')).toMatch(/^cmpl-[A-Za-z0-9_-]{16}$/);
  });
});
