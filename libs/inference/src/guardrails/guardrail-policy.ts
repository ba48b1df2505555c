import type { GuardrailTrigger } from '@app/observability';
import type { EffectivePolicy } from '@app/quotas';

/** The content checks of a caller's policy (quota policy fields pii_input, pii_output, ...). */
export type GuardrailPolicy = Pick<
  EffectivePolicy,
  'piiInput' | 'piiOutput' | 'promptInjection' | 'blockedTerms'
>;

export const NO_GUARDRAILS: GuardrailPolicy = {
  piiInput: 'off',
  piiOutput: 'off',
  promptInjection: 'off',
  blockedTerms: [],
};

/** llm_guardrail_triggers_total's `guardrail`. */
export type GuardrailName = GuardrailTrigger['guardrail'];
