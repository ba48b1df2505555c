import { Writable } from 'node:stream';
import { createLogger, maskSecrets } from './logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('logger', () => {
  it('writes JSON with redacted secret fields', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer abc', host: 'x' } },
        user: { password: 'p', apiKey: 'k', name: 'n' },
      },
      'hello',
    );
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'hello',
      req: { headers: { authorization: '[redacted]', host: 'x' } },
      user: { password: '[redacted]', apiKey: '[redacted]', name: 'n' },
    });
  });

  it('masks keys, bearer tokens and URL passwords inside messages', () => {
    const key = 'sk-abcdefghijkl-' + 'Z'.repeat(43);
    expect(maskSecrets(`bad key ${key}`)).toBe('bad key sk-abcdefghijkl-[redacted]');
    expect(maskSecrets('Authorization: Bearer eyJhbGciOi.x.y')).toBe('Authorization: Bearer [redacted]');
    expect(maskSecrets('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:[redacted]@db:5432/x');
    const { lines, logger } = capture();
    logger.warn(`rejected ${key}`);
    expect(JSON.stringify(lines[0])).not.toContain('Z'.repeat(43));
  });
});
