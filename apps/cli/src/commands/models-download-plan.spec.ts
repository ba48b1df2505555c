import { UsageError } from '../args';
import {
  globToRegExp,
  hubError,
  parseIncludes,
  parseListing,
  partDecision,
  rangeDecision,
  RemoteFile,
  selectFiles,
  shardsFromIndex,
  validateEndpoint,
  validateRepoId,
} from './models-download-plan';

const SHA = 'ab'.repeat(32);

describe('models download: arguments', () => {
  it('accepts OWNER/NAME only', () => {
    expect(validateRepoId('meta-llama/Llama-3.2-1B')).toBe('meta-llama/Llama-3.2-1B');
    expect(validateRepoId('a_b/c.d-e')).toBe('a_b/c.d-e');
    for (const bad of [
      undefined,
      '',
      'noslash',
      'a/b/c',
      '/b',
      'a/',
      '../x',
      'a/..',
      'a/.',
      'a b/c',
      'a/b?x',
    ])
      expect(() => validateRepoId(bad)).toThrow(UsageError);
  });

  it('refuses plain http to anything but loopback', () => {
    expect(validateEndpoint('https://huggingface.co/')).toBe('https://huggingface.co');
    expect(validateEndpoint('https://hub.example.com/mirror')).toBe('https://hub.example.com/mirror');
    expect(validateEndpoint('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(validateEndpoint('http://localhost:1')).toBe('http://localhost:1');
    expect(validateEndpoint('http://[::1]:9/')).toBe('http://[::1]:9');
    expect(() => validateEndpoint('http://example.com')).toThrow(/unencrypted/);
    expect(() => validateEndpoint('http://10.0.0.1')).toThrow(UsageError);
    expect(() => validateEndpoint('http://127.0.0.1.evil.com')).toThrow(UsageError);
    expect(() => validateEndpoint('ftp://127.0.0.1')).toThrow(UsageError);
    expect(() => validateEndpoint('not a url')).toThrow(UsageError);
  });

  it('splits --include', () => {
    expect(parseIncludes(undefined)).toBeUndefined();
    expect(parseIncludes('*.json, *.safetensors')).toEqual(['*.json', '*.safetensors']);
    expect(() => parseIncludes(',')).toThrow(UsageError);
  });
});

describe('models download: globs and file selection', () => {
  it('matches `*` as any run of characters, everything else literally', () => {
    const g = globToRegExp('model-*.safetensors');
    expect(g.test('model-00001-of-00002.safetensors')).toBe(true);
    expect(g.test('model.safetensors')).toBe(false);
    expect(g.test('model-1Xsafetensors')).toBe(false); // `.` is literal
    expect(globToRegExp('*.json').test('sub/dir/x.json')).toBe(true);
    expect(globToRegExp('a+b(c)').test('a+b(c)')).toBe(true);
    expect(globToRegExp('config.json').test('config.json.bak')).toBe(false);
  });

  const listing = parseListing(
    {
      sha: 'c0ffee',
      siblings: [
        { rfilename: '.gitattributes', size: 1519 },
        { rfilename: 'README.md', size: 10 },
        { rfilename: 'config.json', size: 689 },
        { rfilename: 'tokenizer.json', size: 100 },
        {
          rfilename: 'model-00001-of-00002.safetensors',
          size: 5,
          lfs: { sha256: SHA.toUpperCase(), size: 5000 },
        },
        { rfilename: 'model-00002-of-00002.safetensors', lfs: { sha256: SHA, size: 7 } },
        { rfilename: 'model.safetensors.index.json', size: 30 },
        { rfilename: 'pytorch_model.bin', lfs: { sha256: SHA, size: 9000 } },
        { rfilename: 'original/consolidated.safetensors', lfs: { sha256: SHA, size: 9 } },
        { rfilename: 'no-size.txt' },
      ],
    },
    'o/n',
  );

  it('reads sizes (LFS size wins) and sha256 from the listing', () => {
    expect(listing.commit).toBe('c0ffee');
    expect(listing.files.find((f) => f.path === 'model-00001-of-00002.safetensors')).toEqual({
      path: 'model-00001-of-00002.safetensors',
      size: 5000,
      sha256: SHA,
    });
    expect(listing.files.find((f) => f.path === 'config.json')).toEqual({ path: 'config.json', size: 689 });
    expect(listing.files.find((f) => f.path === 'no-size.txt')).toEqual({ path: 'no-size.txt' });
  });

  it('refuses listings that are not a hub listing or would write outside --out', () => {
    expect(() => parseListing({}, 'o/n')).toThrow('siblings');
    for (const p of ['../x', '/etc/passwd', 'a/../../b', 'a\\b', 'a//b', ''])
      expect(() => parseListing({ siblings: [{ rfilename: p }] }, 'o/n')).toThrow();
  });

  it('keeps only what the engine loads by default (top level)', () => {
    expect(selectFiles(listing.files, 'o/n').map((f) => f.path)).toEqual([
      'config.json',
      'tokenizer.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
  });

  it('fails clearly without safetensors weights', () => {
    const pt = parseListing(
      { siblings: [{ rfilename: 'config.json' }, { rfilename: 'pytorch_model.bin' }] },
      'o/n',
    ).files;
    expect(() => selectFiles(pt, 'o/n')).toThrow(
      'no safetensors weights in o/n (this engine loads safetensors only)',
    );
  });

  it('--include replaces the default set', () => {
    expect(selectFiles(listing.files, 'o/n', ['*.bin', 'README.md']).map((f) => f.path)).toEqual([
      'README.md',
      'pytorch_model.bin',
    ]);
    expect(selectFiles(listing.files, 'o/n', ['original/*']).map((f) => f.path)).toEqual([
      'original/consolidated.safetensors',
    ]);
    expect(() => selectFiles(listing.files, 'o/n', ['*.gguf'])).toThrow('matches --include');
  });
});

describe('models download: sharded checkpoints', () => {
  const files: RemoteFile[] = [
    { path: 'config.json' },
    { path: 'model.safetensors.index.json' },
    { path: 'model-00001-of-00002.safetensors' },
    { path: 'model-00002-of-00002.safetensors' },
    { path: 'consolidated.safetensors' },
  ];
  const index = JSON.stringify({
    weight_map: {
      'a.weight': 'model-00001-of-00002.safetensors',
      'b.weight': 'model-00002-of-00002.safetensors',
    },
  });

  it('keeps only the shards the index names', () => {
    expect(shardsFromIndex(files, index, 'o/r').map((f) => f.path)).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
  });

  it('fails on an index that is not JSON, has no weight_map, or names a missing shard', () => {
    expect(() => shardsFromIndex(files, '{', 'o/r')).toThrow('not JSON');
    expect(() => shardsFromIndex(files, '{}', 'o/r')).toThrow('no weight_map');
    expect(() =>
      shardsFromIndex(files, JSON.stringify({ weight_map: { x: 'gone.safetensors' } }), 'o/r'),
    ).toThrow('names gone.safetensors');
  });
});

describe('models download: resume decisions', () => {
  it('decides from the size of an existing .part', () => {
    expect(partDecision(null, 100)).toEqual({ action: 'fresh' });
    expect(partDecision(0, 100)).toEqual({ action: 'fresh' });
    expect(partDecision(40, 100)).toEqual({ action: 'resume', from: 40 });
    expect(partDecision(40, undefined)).toEqual({ action: 'resume', from: 40 });
    expect(partDecision(100, 100)).toEqual({ action: 'verify' });
    expect(partDecision(101, 100)).toEqual({ action: 'fresh' });
  });

  it('appends only on a 206 that starts where the part ends', () => {
    expect(rangeDecision(206, 40, 'bytes 40-99/100')).toBe('append');
    expect(rangeDecision(206, 40, 'bytes 40-99/*')).toBe('append');
    expect(rangeDecision(200, 40, null)).toBe('restart');
    expect(rangeDecision(200, 0, null)).toBe('restart');
    expect(rangeDecision(206, 40, 'bytes 0-99/100')).toBe('unexpected');
    expect(rangeDecision(206, 40, null)).toBe('unexpected');
    expect(rangeDecision(206, 0, 'bytes 0-99/100')).toBe('unexpected');
    expect(rangeDecision(302, 40, null)).toBe('unexpected');
  });
});

describe('models download: hub errors', () => {
  it('names the fix', () => {
    expect(hubError(401, 'o/n', 'main', 'listing', null)).toMatch(/gated or private.*HF_TOKEN.*--token/);
    expect(hubError(403, 'o/n', 'main', 'x', null)).toContain('HF_TOKEN');
    expect(hubError(404, 'o/n', 'v2', 'x', null)).toBe(
      'x: HTTP 404: repository o/n or revision v2 not found',
    );
    expect(hubError(404, 'o/n', 'v2', 'x', 'RevisionNotFound')).toContain('revision v2 not found in o/n');
    expect(hubError(500, 'o/n', 'main', 'x', null)).toBe('x: HTTP 500');
  });
});
