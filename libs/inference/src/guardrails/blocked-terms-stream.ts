import { blockedTermsPattern } from './blocked-terms';

/**
 * Stops generated text at the first blocked term (the term and everything after it are never
 * emitted): the tail that could still become a term, plus one character to settle the word
 * boundary, is held back until the next piece.
 */
export class BlockedTermsStream {
  private held = '';
  private readonly hold: number;
  private readonly pattern: RegExp;

  constructor(terms: readonly string[]) {
    this.pattern = blockedTermsPattern(terms);
    this.hold = terms.reduce((m, t) => Math.max(m, t.length), 0);
  }

  /** The text that may be emitted; `blocked` when a term was found (generation must end). */
  push(piece: string, last = false): { text: string; blocked: boolean } {
    const text = this.held + piece;
    this.pattern.lastIndex = 0;
    for (let m = this.pattern.exec(text); m; m = this.pattern.exec(text)) {
      // A match that ends the text may be the start of a longer word: decided by the next piece.
      if (last || m.index + m[0].length < text.length) {
        this.held = '';
        return { text: text.slice(0, m.index), blocked: true };
      }
      this.pattern.lastIndex = m.index + 1;
    }
    const keep = last ? 0 : Math.min(text.length, this.hold);
    this.held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep), blocked: false };
  }
}
