import { BlockedTermsStream } from './blocked-terms-stream';
import { GuardrailPolicy } from './guardrail-policy';
import { PiiStreamRedactor } from './pii-stream';

/**
 * The output side of a caller's guardrails, on text as it streams: generation ends before the
 * first blocked term (OpenAI's finish_reason "content_filter"), then personal data is redacted
 * (pii_output). Each stage holds back only the tail it cannot decide yet.
 */
export class OutputGuard {
  private readonly terms: BlockedTermsStream | null;
  private readonly pii: PiiStreamRedactor | null;

  constructor(policy: GuardrailPolicy) {
    this.terms = policy.blockedTerms.length > 0 ? new BlockedTermsStream(policy.blockedTerms) : null;
    this.pii = policy.piiOutput === 'redact' ? new PiiStreamRedactor() : null;
  }

  /** Pieces of personal data replaced so far. */
  get piiRedacted(): number {
    return this.pii?.redactions ?? 0;
  }

  /** What may be emitted of `piece`; `last` releases everything held. `blocked`: stop generating. */
  push(piece: string, last: boolean): { text: string; blocked: boolean } {
    const checked = this.terms ? this.terms.push(piece, last) : { text: piece, blocked: false };
    if (!this.pii) return checked;
    const end = last || checked.blocked;
    return { text: this.pii.push(checked.text) + (end ? this.pii.flush() : ''), blocked: checked.blocked };
  }
}

/** The guard for a caller's output, or null when its policy checks no output. */
export function outputGuardFor(policy: GuardrailPolicy): OutputGuard | null {
  return policy.blockedTerms.length > 0 || policy.piiOutput === 'redact' ? new OutputGuard(policy) : null;
}
