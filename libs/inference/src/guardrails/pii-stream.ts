import { findPii, MAX_PII_LENGTH, redactPii } from './pii';

/** Characters that may sit inside a match of any PII kind (a space only between digit groups). */
const IN_MATCH = /[A-Za-z0-9._%+@()-]/;
const GROUP_BEFORE_SPACE = /[0-9A-Z)]/;
const GROUP_AFTER_SPACE = /[0-9A-Z(+]/;

/**
 * Where the tail that might still grow into (or be) a match begins: after the last character
 * that no match can contain. At most MAX_PII_LENGTH characters are held.
 */
function heldFrom(text: string): number {
  const floor = Math.max(0, text.length - MAX_PII_LENGTH);
  let i = text.length;
  while (i > floor) {
    const c = text[i - 1];
    if (IN_MATCH.test(c)) {
      i--;
      continue;
    }
    const before = text[i - 2];
    const after = text[i];
    if (
      c === ' ' &&
      before &&
      GROUP_BEFORE_SPACE.test(before) &&
      (after === undefined || GROUP_AFTER_SPACE.test(after))
    ) {
      i--;
      continue;
    }
    break;
  }
  return i;
}

/**
 * Redacts personal data from text that arrives in pieces (a streamed completion): each push
 * returns the text that is final, with its matches replaced; the tail that a later piece could
 * still turn into a match is held back until the next push or flush. Text is never re-emitted.
 */
export class PiiStreamRedactor {
  private held = '';
  /** Pieces of personal data replaced so far (for llm_guardrail_triggers_total). */
  redactions = 0;

  push(piece: string): string {
    if (!piece) return '';
    const text = this.held + piece;
    let cut = heldFrom(text);
    const matches = findPii(text);
    // A match that crosses the cut is held whole (matches are at most MAX_PII_LENGTH long).
    for (const m of matches) if (m.start < cut && m.end > cut) cut = m.start;
    const final = matches.filter((m) => m.end <= cut);
    this.held = text.slice(cut);
    this.redactions += final.length;
    return redactPii(text.slice(0, cut), final);
  }

  flush(): string {
    const matches = findPii(this.held);
    this.redactions += matches.length;
    const out = redactPii(this.held, matches);
    this.held = '';
    return out;
  }
}
