/**
 * Personal data in text: the kinds found by pattern (with a checksum where the kind has one, so
 * that arbitrary digit runs are not taken for card numbers or IBANs). Pattern matching, not a
 * trained recognizer: names and street addresses are not found.
 */
export type PiiKind = 'email' | 'iban' | 'credit_card' | 'us_ssn' | 'phone' | 'ip_address';

export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

interface Detector {
  kind: PiiKind;
  pattern: RegExp;
  valid?: (match: string) => boolean;
}

/** Luhn's check digit (payment card numbers). */
function luhnValid(match: string): boolean {
  const digits = match.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616 mod-97 check (IBAN). */
function ibanValid(match: string): boolean {
  const s = match.replace(/ /g, '');
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = (v > 9 ? rem * 100 + v : rem * 10 + v) % 97;
  }
  return rem === 1;
}

/** Area 000, 666 and 900-999, group 00 and serial 0000 are never issued. */
function ssnValid(match: string): boolean {
  const [area, group, serial] = match.split('-');
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

/** Earlier detectors claim their spans first (an IBAN's digits are not also a phone number). */
const DETECTORS: readonly Detector[] = [
  {
    kind: 'email',
    pattern: /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,3}\.[A-Za-z]{2,24}/g,
  },
  { kind: 'iban', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g, valid: ibanValid },
  // Not after '+': an international phone number.
  { kind: 'credit_card', pattern: /(?<!\+)\b\d(?:[ -]?\d){12,18}\b/g, valid: luhnValid },
  { kind: 'us_ssn', pattern: /\b\d{3}-\d{2}-\d{4}\b/g, valid: ssnValid },
  {
    kind: 'phone',
    // Groups split by spaces or dashes (dots only as NANP's 555.123.4567: "12.3456789" is a number).
    // Not part of a longer run of digit groups (a card number that failed its check digit).
    pattern:
      /(?<!\d[ -]?)(?:(?:\+\d{1,3}[ -]?)?(?:\(\d{2,4}\)[ -]?|\b\d{2,4}[ -])\d{3,4}[ -]?\d{3,4}\b|\b\d{3}\.\d{3}\.\d{4}\b|\+\d{8,15}\b)(?![ -]?\d)/g,
  },
  {
    kind: 'ip_address',
    pattern: /\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b/g,
  },
];

/** The longest text one match can span (the email pattern's bound: 64 @ 4 labels of 63 . 24). */
export const MAX_PII_LENGTH = 64 + 1 + 63 + 3 * 64 + 1 + 24;

/** Every match, leftmost first, none overlapping. */
export function findPii(text: string): PiiMatch[] {
  const found: PiiMatch[] = [];
  // Every kind but email has digits: most text is skipped without running the patterns.
  const hasAt = text.includes('@');
  if (!hasAt && !/\d/.test(text)) return found;
  for (const { kind, pattern, valid } of DETECTORS) {
    if (kind === 'email' && !hasAt) continue;
    for (const m of text.matchAll(pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      if (valid && !valid(m[0])) continue;
      if (found.some((f) => start < f.end && f.start < end)) continue;
      found.push({ kind, start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/** The placeholder a match is replaced with, e.g. "[EMAIL]". */
export function placeholder(kind: PiiKind): string {
  return `[${kind.toUpperCase()}]`;
}

/** `text` with every match replaced by its placeholder. */
export function redactPii(text: string, matches: PiiMatch[] = findPii(text)): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + placeholder(m.kind);
    at = m.end;
  }
  return out + text.slice(at);
}
