import { parseBatchInput } from './batch-input';

const line = (customId: string, extra: object = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'm' },
    ...extra,
  });
const parse = (text: string, max = 100) => parseBatchInput(Buffer.from(text), '/v1/chat/completions', max);

describe('parseBatchInput', () => {
  it('reads each request with its custom_id and body, numbering requests from 0 and skipping blank lines', () => {
    const { lines, errors } = parse(`${line('a')}\n\n${line('b', { body: { model: 'x', n: 2 } })}\r\n`);
    expect(errors).toEqual([]);
    expect(lines).toEqual([
      { index: 0, customId: 'a', body: { model: 'm' } },
      { index: 1, customId: 'b', body: { model: 'x', n: 2 } },
    ]);
  });

  it('reports every bad line with its 1-based line number and the field at fault', () => {
    const text = [
      line('a'),
      '{oops',
      '[1]',
      line(''),
      line('a'),
      line('m', { method: 'GET' }),
      line('u', { url: '/v1/embeddings' }),
      line('b', { body: 'text' }),
      line('s', { body: { stream: true } }),
    ].join('\n');
    expect(parse(text).errors.map((e) => [e.code, e.line, e.param])).toEqual([
      ['invalid_json_line', 2, null],
      ['invalid_request', 3, null],
      ['missing_required_parameter', 4, 'custom_id'],
      ['duplicate_custom_id', 5, 'custom_id'],
      ['invalid_method', 6, 'method'],
      ['mismatched_url', 7, 'url'],
      ['invalid_request', 8, 'body'],
      ['invalid_request', 9, 'body.stream'],
    ]);
  });

  it('refuses an empty file and one with more requests than the limit', () => {
    expect(parse('\n\n').errors).toMatchObject([{ code: 'empty_file', line: null }]);
    expect(parse([line('a'), line('b'), line('c')].join('\n'), 2).errors).toMatchObject([
      { code: 'too_many_requests', line: null },
    ]);
  });

  it('stops after 100 errors', () => {
    expect(parse(Array.from({ length: 500 }, () => '{').join('\n')).errors).toHaveLength(100);
  });
});
