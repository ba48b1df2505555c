import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from './config.schema';
import { ConfigValidationError, describeConfig, loadConfig } from './config.loader';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as ConfigValidationError).problems as string[];
  }
  throw new Error('expected a ConfigValidationError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.logLevel).toBe('info');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.gpuMemoryUtilization).toBe(0.9);
    expect(config.docsEnabled).toBe(true);
    expect(config.apiKeyCacheTtlMs).toBeLessThanOrEqual(5000);
  });

  it('parses typed values', () => {
    const config = loadConfig({
      PORT: '9001',
      GPU_MEMORY_UTILIZATION: '0.5',
      DOCS_ENABLED: 'false',
      DATABASE_URL: 'postgres://u:p@localhost:5432/db',
      MAX_MODEL_LENGTH: '4096',
    });
    expect(config.port).toBe(9001);
    expect(config.gpuMemoryUtilization).toBe(0.5);
    expect(config.docsEnabled).toBe(false);
    expect(config.maxModelLength).toBe(4096);
    expect(config.databaseUrl).toBe('postgres://u:p@localhost:5432/db');
  });

  it.each([
    ['PORT', 'abc', /PORT must be an integer between 0 and 65535 \(got "abc"\)/],
    ['PORT', '70000', /PORT must be an integer/],
    ['PORT', '8000.5', /PORT must be an integer/],
    ['GPU_MEMORY_UTILIZATION', '1.5', /GPU_MEMORY_UTILIZATION must be a number between 0.05 and 1/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error/],
    ['DATABASE_URL', 'mysql://x/y', /DATABASE_URL must be a URL starting with postgres:\/\//],
    ['DATABASE_URL', 'not a url', /DATABASE_URL must be a valid URL/],
    ['REDIS_URL', 'http://x', /REDIS_URL must be a URL starting with redis:\/\//],
    ['ADMIN_JWT_SECRET', 'short', /ADMIN_JWT_SECRET must be at least 32 characters long/],
    ['RATE_LIMIT', 'lots', /RATE_LIMIT must look like/],
    ['DOCS_ENABLED', 'maybe', /DOCS_ENABLED must be true or false/],
    ['MAX_NUM_SEQS', '0', /MAX_NUM_SEQS must be an integer between 1/],
  ])('rejects %s=%s naming the variable', (name, value, expected) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it('never echoes secret values in errors', () => {
    const [problem] = problemsOf({ ADMIN_JWT_SECRET: 'hunter2' });
    expect(problem).not.toContain('hunter2');
  });

  it('reports every bad variable at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y' })).toHaveLength(2);
  });

  it('masks secrets when describing the configuration', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:pw@h/db', ADMIN_JWT_SECRET: 'x'.repeat(40) });
    const described = describeConfig(config);
    expect(described.DATABASE_URL).toBe('[redacted]');
    expect(described.ADMIN_JWT_SECRET).toBe('[redacted]');
    expect(described.PORT).toBe(8000);
  });

  it('config/.env.example documents every variable with its default', () => {
    const example = readFileSync(join(__dirname, '../../../../config/.env.example'), 'utf8');
    for (const variable of CONFIG_VARIABLES) {
      const line = example.split('\n').find((l) => new RegExp(`^#?\\s*${variable.name}=`).test(l));
      expect({ name: variable.name, line }).toEqual({ name: variable.name, line: expect.any(String) });
      const value = line!.replace(/^#?\s*[A-Z_]+=/, '');
      if (variable.default !== undefined)
        expect({ name: variable.name, value }).toEqual({ name: variable.name, value: variable.default });
    }
  });
});
