/**
 * Phrases that try to override the operator's instructions or extract them ("ignore all previous
 * instructions", "reveal your system prompt", "you are now DAN"). A short list of patterns, not a
 * classifier: it stops the common copy-pasted attacks and misses paraphrases.
 */
const PATTERNS: readonly RegExp[] = [
  /\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|every|the|your|my|these|those|of)\s+){0,4}(?:previous|prior|above|earlier|preceding|foregoing|original|system)\s+(?:instructions?|prompts?|rules|directions|directives|guidelines|messages|context)\b/i,
  /\b(?:reveal|show|print|repeat|output|display|leak|tell\s+me)\s+(?:(?:me|us|all|the|your|its|full|entire|exact|hidden|secret|initial|original)\s+){0,4}(?:system\s+prompt|system\s+message|hidden\s+instructions|initial\s+instructions|instructions\s+above)\b/i,
  /\byou\s+are\s+now\s+(?:DAN|in\s+(?:developer|god|jailbreak|unrestricted)\s+mode|jailbroken|unfiltered|unrestricted)\b/i,
  /\b(?:developer|jailbreak|god)\s+mode\s+(?:enabled|activated|on)\b/i,
  /\bdo\s+anything\s+now\b/i,
  /\bnew\s+system\s+(?:prompt|instructions?)\s*:/i,
];

/** The first phrase that matched, or null. */
export function findPromptInjection(text: string): string | null {
  for (const pattern of PATTERNS) {
    const m = pattern.exec(text);
    if (m) return m[0];
  }
  return null;
}
