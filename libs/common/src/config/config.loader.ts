import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { CONFIG_VARIABLES, ConfigVariable } from './config.schema';
import { AppConfig } from './config.types';

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration:\n  - ${problems.join('\n  - ')}\nSee config/.env.example for every setting.`,
    );
    this.name = 'ConfigValidationError';
  }
}

type Parsed = string | number | boolean | undefined;

function parseValue(variable: ConfigVariable, value: string): { value?: Parsed; error?: string } {
  const shown = variable.secret ? '' : ` (got "${value.length > 80 ? value.slice(0, 80) + '...' : value}")`;
  const fail = (what: string) => ({ error: `${variable.name} ${what}${shown}` });
  const inRange = (n: number) =>
    (variable.min === undefined || n >= variable.min) && (variable.max === undefined || n <= variable.max);
  const range = `between ${variable.min ?? '-inf'} and ${variable.max ?? 'inf'}`;
  switch (variable.type) {
    case 'int': {
      if (!/^-?\d+$/.test(value.trim())) return fail(`must be an integer ${range}`);
      const n = Number(value);
      return inRange(n) ? { value: n } : fail(`must be an integer ${range}`);
    }
    case 'float': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || !inRange(n)) return fail(`must be a number ${range}`);
      return { value: n };
    }
    case 'bool': {
      const v = value.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(v)) return { value: false };
      return fail('must be true or false');
    }
    case 'enum':
      return variable.values!.includes(value.trim())
        ? { value: value.trim() }
        : fail(`must be one of ${variable.values!.join(', ')}`);
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return fail('must be a valid URL');
      }
      if (variable.protocols && !variable.protocols.includes(url.protocol))
        return fail(`must be a URL starting with ${variable.protocols.map((p) => p + '//').join(' or ')}`);
      return { value };
    }
    default: {
      const problem = variable.check?.(value);
      return problem ? fail(problem) : { value };
    }
  }
}

function camelCase(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Reads config/.env (if present) without overriding variables already set. */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseDotenv(readFileSync(path));
}

/**
 * Validates the environment and returns the typed configuration. Throws a
 * ConfigValidationError naming every bad variable.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  variables: readonly ConfigVariable[] = CONFIG_VARIABLES,
): AppConfig {
  const problems: string[] = [];
  const raw: Record<string, Parsed> = {};
  const typed: Record<string, Parsed> = {};
  for (const variable of variables) {
    const given = env[variable.name];
    const text = given === undefined || given === '' ? variable.default : given;
    if (text === undefined) {
      raw[variable.name] = undefined;
      typed[camelCase(variable.name)] = undefined;
      continue;
    }
    const { value, error } = parseValue(variable, text);
    if (error) problems.push(error);
    raw[variable.name] = value;
    typed[camelCase(variable.name)] = value;
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return { ...(typed as unknown as Omit<AppConfig, 'raw'>), raw } as AppConfig;
}

/** Environment merged with config/.env (process variables win). */
export function environmentWithEnvFile(envFile: string, env: NodeJS.ProcessEnv = process.env) {
  return { ...readEnvFile(envFile), ...env };
}

/** The configuration with its secrets masked, for logs. */
export function describeConfig(config: AppConfig, variables = CONFIG_VARIABLES): Record<string, Parsed> {
  const out: Record<string, Parsed> = {};
  for (const v of variables) {
    const value = config.raw[v.name];
    out[v.name] = v.secret && value !== undefined ? '[redacted]' : value;
  }
  return out;
}
