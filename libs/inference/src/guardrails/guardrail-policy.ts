/** What a caller's policy does with personal data in what it sends. */
export type PiiInputAction = 'off' | 'redact' | 'block';
/** What a caller's policy does with personal data in what the model writes. */
export type PiiOutputAction = 'off' | 'redact';
export type PromptInjectionAction = 'off' | 'block';

/** The content checks a caller's policy applies (quota policy fields pii_input, pii_output, ...). */
export interface GuardrailPolicy {
  piiInput: PiiInputAction;
  piiOutput: PiiOutputAction;
  promptInjection: PromptInjectionAction;
  /** Words or phrases a request may not contain (whole words, any case). */
  blockedTerms: readonly string[];
}

export const NO_GUARDRAILS: GuardrailPolicy = {
  piiInput: 'off',
  piiOutput: 'off',
  promptInjection: 'off',
  blockedTerms: [],
};

/** llm_guardrail_triggers_total's `guardrail`. */
export type GuardrailName = 'pii' | 'blocked_terms' | 'prompt_injection';
