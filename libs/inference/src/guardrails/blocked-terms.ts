/** Letters and digits: a blocked term matches as a whole word, never inside a longer one. */
const WORD_CHAR = /^[\p{L}\p{N}]/u;
const compiled = new WeakMap<readonly string[], RegExp>();

function escape(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * One case-insensitive pattern for a term list: each term as a whole word or phrase (a term that
 * starts or ends with a letter or digit may not continue a longer word there). Compiled once per
 * list (policies are cached objects).
 */
export function blockedTermsPattern(terms: readonly string[]): RegExp {
  let re = compiled.get(terms);
  if (!re) {
    const alternatives = terms.map((t) => {
      const before = WORD_CHAR.test(t) ? '(?<![\\p{L}\\p{N}])' : '';
      const after = WORD_CHAR.test([...t].pop() ?? '') ? '(?![\\p{L}\\p{N}])' : '';
      return `${before}${escape(t)}${after}`;
    });
    re = new RegExp(alternatives.join('|'), 'giu');
    compiled.set(terms, re);
  }
  return re;
}

/** The first blocked term in `text`, as written there (whole words, any case: "class" does not match "classic"), or null. */
export function findBlockedTerm(text: string, terms: readonly string[]): string | null {
  if (terms.length === 0) return null;
  const re = blockedTermsPattern(terms);
  re.lastIndex = 0;
  const m = re.exec(text);
  return m ? m[0] : null;
}
