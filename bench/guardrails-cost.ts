import { guardInputText } from '../libs/inference/src/guardrails/input-guard';
import { NO_GUARDRAILS } from '../libs/inference/src/guardrails/guardrail-policy';
import { OutputGuard } from '../libs/inference/src/guardrails/output-guard';

/**
 * What the guardrails cost the gateway's JS thread: the input checks on prompts of several sizes
 * (prose with and without personal data) and the output guard on a streamed answer, 4 characters
 * per delta (about one token). CPU time of this process, medians of 7 rounds.
 *   npm run bench:guardrails
 */
const PROSE =
  'The quarterly report shows revenue growth of 12 percent across all regions, with the strongest ' +
  'gains in the enterprise segment. Customer retention improved after the support team changed its ' +
  'escalation process in March, and the new onboarding flow cut time to first value by a third. ';
const WITH_PII =
  'Please reach Maria at maria.lopez@example.org or +1 415 555 0132; her card 4111 1111 1111 1111 ' +
  'was charged twice, refund to IBAN DE89 3704 0044 0532 0130 00. ';

const policy = {
  ...NO_GUARDRAILS,
  piiInput: 'redact' as const,
  piiOutput: 'redact' as const,
  promptInjection: 'block' as const,
  blockedTerms: ['project falcon', 'internal only', 'codename'],
};

function textOf(size: number, pii: boolean): string {
  let out = '';
  while (out.length < size) out += pii && out.length % 2048 < 300 ? WITH_PII : PROSE;
  return out.slice(0, size);
}

function cpuUs(fn: () => void, iterations: number): number {
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn();
    const t = process.cpuUsage(t0);
    rounds.push((t.user + t.system) / iterations);
  }
  return rounds.sort((a, b) => a - b)[3];
}

const rows: string[] = [
  '| text | chars | input checks µs | output guard µs (4-char deltas) |',
  '| --- | ---: | ---: | ---: |',
];
for (const size of [500, 4_000, 32_000]) {
  for (const pii of [false, true]) {
    const text = textOf(size, pii);
    const iterations = Math.max(20, Math.round(2_000_000 / size));
    const input = cpuUs(() => guardInputText(text, policy, 'prompt', true, { piiRedacted: 0 }), iterations);
    const output = cpuUs(
      () => {
        const guard = new OutputGuard(policy);
        for (let i = 0; i < text.length; i += 4) guard.push(text.slice(i, i + 4), i + 4 >= text.length);
      },
      Math.max(5, Math.round(iterations / 10)),
    );
    rows.push(
      `| ${pii ? 'prose with personal data' : 'prose'} | ${size} | ${input.toFixed(1)} | ${output.toFixed(1)} |`,
    );
  }
}
console.log(rows.join('\n'));
