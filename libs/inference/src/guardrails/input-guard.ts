import { ApiError } from '@app/common';
import { ChatMessage } from '../text/model-text';
import { GuardrailName, GuardrailPolicy } from './guardrail-policy';
import { findBlockedTerm } from './blocked-terms';
import { findPii, PiiKind, redactPii } from './pii';
import { findPromptInjection } from './prompt-injection';

const PII_NAMES: Record<PiiKind, string> = {
  email: 'an email address',
  iban: 'an IBAN',
  credit_card: 'a payment card number',
  us_ssn: 'a US social security number',
  phone: 'a phone number',
  ip_address: 'an IP address',
};

/** What the input checks did to a request (redactions made; a block is thrown instead). */
export interface InputGuardReport {
  piiRedacted: number;
}

/** A request a guardrail refused: 400, OpenAI's content_policy_violation, naming the field. */
export class GuardrailBlock extends ApiError {
  constructor(
    readonly guardrail: GuardrailName,
    param: string,
    message: string,
  ) {
    super(400, message, { param, code: 'content_policy_violation' });
  }
}

/**
 * Applies the caller's input guardrails to one text it sent (`param` names it in errors):
 * blocked terms, prompt injection (only where `untrusted`: user and tool turns, prompts; not
 * the system prompt the operator wrote), then personal data, which is blocked or replaced by
 * placeholders such as "[EMAIL]". Returns the text the model will see.
 */
export function guardInputText(
  text: string,
  policy: GuardrailPolicy,
  param: string,
  untrusted: boolean,
  report: InputGuardReport,
): string {
  if (findBlockedTerm(text, policy.blockedTerms) !== null)
    throw new GuardrailBlock('blocked_terms', param, `'${param}' contains a term this API key may not send.`);
  if (untrusted && policy.promptInjection === 'block') {
    const phrase = findPromptInjection(text);
    if (phrase !== null)
      throw new GuardrailBlock(
        'prompt_injection',
        param,
        `'${param}' looks like a prompt injection ("${phrase}"); this API key's policy refuses it.`,
      );
  }
  if (policy.piiInput === 'off') return text;
  const matches = findPii(text);
  if (matches.length === 0) return text;
  if (policy.piiInput === 'block')
    throw new GuardrailBlock(
      'pii',
      param,
      `'${param}' contains personal data (${PII_NAMES[matches[0].kind]}); this API key's policy refuses it.`,
    );
  report.piiRedacted += matches.length;
  return redactPii(text, matches);
}

/**
 * A prompt sent as token ids, checked as its text: blocked terms and injections as for text;
 * personal data is refused under both pii_input modes, since ids cannot be redacted without
 * re-tokenizing what the caller chose to send as ids.
 */
export function guardTokenPrompt(text: string, policy: GuardrailPolicy, param: string): void {
  guardInputText(text, { ...policy, piiInput: 'off' }, param, true, { piiRedacted: 0 });
  if (policy.piiInput === 'off') return;
  const [first] = findPii(text);
  if (first)
    throw new GuardrailBlock(
      'pii',
      param,
      `'${param}' holds personal data (${PII_NAMES[first.kind]}) in token ids; this API key's policy (pii_input: ${policy.piiInput}) needs such prompts as text.`,
    );
}

/** True when the policy checks inputs at all (most keys: no work per request). */
export function guardsInput(policy: GuardrailPolicy): boolean {
  return policy.piiInput !== 'off' || policy.promptInjection !== 'off' || policy.blockedTerms.length > 0;
}

/** Every string inside a tool call's arguments through the input guard (objects and arrays kept). */
function guardValue(value: unknown, guard: (text: string) => string): unknown {
  if (typeof value === 'string') return guard(value);
  if (Array.isArray(value)) return value.map((v) => guardValue(v, guard));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, guardValue(v, guard)]));
  return value;
}

/**
 * The chat messages as the model will see them: contents, and the string values of assistant
 * turns' tool call arguments, checked and (with pii_input redact) redacted.
 */
export function guardMessages(
  messages: ChatMessage[],
  policy: GuardrailPolicy,
  report: InputGuardReport,
): ChatMessage[] {
  return messages.map((m, i) => {
    const untrusted = m.role === 'user' || m.role === 'tool';
    const content = guardInputText(m.content, policy, `messages[${i}].content`, untrusted, report);
    const tool_calls = m.tool_calls?.map((call, j) => {
      const param = `messages[${i}].tool_calls[${j}].function.arguments`;
      const guard = (text: string) => guardInputText(text, policy, param, false, report);
      return {
        ...call,
        function: { ...call.function, arguments: guardValue(call.function.arguments, guard) },
      };
    });
    return { ...m, content, ...(tool_calls ? { tool_calls } : {}) };
  });
}
