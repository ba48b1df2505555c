type Json = Record<string, unknown>;

/**
 * Shape checks for a JSON settings file (MODELS_FILE, PRICES_FILE), reporting through the file's
 * own `fail(jsonPath, why)` so each message names the offending value.
 */
export function jsonFileChecks(fail: (where: string, why: string) => never) {
  return {
    object(v: unknown, where: string): Json {
      if (!v || typeof v !== 'object' || Array.isArray(v)) fail(where, 'must be an object');
      return v as Json;
    },
    onlyKeys(o: Json, allowed: readonly string[], where: string): void {
      const extra = Object.keys(o).find((k) => !allowed.includes(k));
      if (extra !== undefined) fail(`${where}.${extra}`, `unknown field (allowed: ${allowed.join(', ')})`);
    },
  };
}
