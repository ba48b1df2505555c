/** Letters and digits: a blocked term matches as a whole word, never inside a longer one. */
const WORD = /[\p{L}\p{N}]/u;

/**
 * The first of `terms` that occurs in `text` as a whole word or phrase, case-insensitively
 * (so "class" does not block "classic"), or null.
 */
export function findBlockedTerm(text: string, terms: readonly string[]): string | null {
  if (terms.length === 0) return null;
  const haystack = text.toLowerCase();
  for (const term of terms) {
    const needle = term.toLowerCase();
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
      const before = haystack[at - 1];
      const after = haystack[at + needle.length];
      const startsWord = WORD.test(needle[0]);
      const endsWord = WORD.test(needle[needle.length - 1]);
      if (startsWord && before !== undefined && WORD.test(before)) continue;
      if (endsWord && after !== undefined && WORD.test(after)) continue;
      return term;
    }
  }
  return null;
}
