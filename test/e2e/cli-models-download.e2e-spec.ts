/**
 * `llm-inference models download` as a real process against a real local HTTP server that speaks
 * the Hugging Face hub's URL layout (`/api/models/{repo}/revision/{rev}?blobs=true`,
 * `/{repo}/resolve/{rev}/{path}`, a 302 to a "CDN" path that honours Range), serving the tiny
 * model fixture: a full download that the engine then loads, a resume after the connection is cut,
 * a rerun that skips everything, a private repo (401 without the token), a missing repo, bad
 * arguments, a corrupted file, an unreachable endpoint.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../../libs/engine/src/native-addon';
import { closedPort, runCli } from './support/cli-process';
import { ensureModel } from './support/inference-app';

jest.setTimeout(120_000);

const TOKEN = 'hf_test_secret';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const EXTRA = 'pytorch_model.bin';
const WEIGHTS = 'model.safetensors';

interface Repo {
  files: Map<string, Buffer>;
  token?: string;
  /** Serve this file with one byte flipped (the listing keeps the true sha256). */
  corrupt?: string;
}

interface Seen {
  path: string;
  range?: string;
  auth?: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const isLfs = (name: string) => name.endsWith('.safetensors') || name.endsWith('.bin');

let fixture: string;
let fixtureFiles: Map<string, Buffer>;
let server: Server;
let endpoint: string;
let dir: string;
const repos = new Map<string, Repo>();
let seen: Seen[] = [];
/** The next CDN response for this path sends this many bytes, then the connection is cut. */
let cutNext: { path: string; after: number } | null = null;

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code });
  res.end(JSON.stringify({ error: message }));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = decodeURIComponent(url.pathname);
  seen.push({ path, range: req.headers.range, auth: req.headers.authorization });
  let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
  const api = !!m;
  if (!m) m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
  if (m) {
    const repo = repos.get(m[1]);
    if (!repo) return fail(res, 404, 'RepoNotFound', 'Repository not found');
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`)
      return fail(res, 401, 'GatedRepo', 'Access to this repository is restricted');
    if (m[2] !== 'main' && m[2] !== COMMIT) return fail(res, 404, 'RevisionNotFound', 'Invalid rev id');
    if (api) {
      if (url.searchParams.get('blobs') !== 'true')
        return fail(res, 400, 'BadRequest', 'blobs=true expected');
      const siblings = [...repo.files].map(([rfilename, b]) =>
        isLfs(rfilename)
          ? {
              rfilename,
              size: b.length,
              blobId: 'x',
              lfs: { sha256: sha256(b), size: b.length, pointerSize: 134 },
            }
          : { rfilename, size: b.length, blobId: 'x' },
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ id: m[1], sha: COMMIT, siblings }));
    }
    const name = m[3];
    const body = repo.files.get(name);
    if (!body) return fail(res, 404, 'EntryNotFound', 'Entry not found');
    if (isLfs(name)) {
      // Like the hub: LFS files redirect to a (signed) CDN URL that honours Range.
      res.writeHead(302, { location: `/cdn/${m[1]}/${name}?signature=abc` });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    return void res.end(body);
  }
  const cdn = /^\/cdn\/([^/]+\/[^/]+)\/(.+)$/.exec(path);
  const repo = cdn && repos.get(cdn[1]);
  let body = cdn && repo?.files.get(cdn[2]);
  if (!cdn || !repo || !body) return fail(res, 404, 'EntryNotFound', 'no such blob');
  if (repo.corrupt === cdn[2]) {
    body = Buffer.from(body);
    body[body.length >> 1] ^= 0xff;
  }
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range) {
    start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      return void res.end();
    }
    res.writeHead(206, {
      'content-length': body.length - start,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
    });
  } else {
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
  }
  if (cutNext && cutNext.path === path) {
    const { after } = cutNext;
    cutNext = null;
    // Send some bytes, let them reach the client, then drop the connection mid-body.
    res.write(body.subarray(start, start + after), () => setTimeout(() => res.socket?.destroy(), 200));
    return;
  }
  res.end(body.subarray(start));
}

const fileSha = (p: string) => sha256(readFileSync(p));
const noTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);
const download = (args: string[], env: Record<string, string> = {}) =>
  runCli(['models', 'download', ...args, '--no-progress'], { env: { HF_ENDPOINT: endpoint, ...env } });

beforeAll(async () => {
  fixture = ensureModel('tiny-llama');
  fixtureFiles = new Map(readdirSync(fixture).map((f) => [f, readFileSync(join(fixture, f))]));
  expect(fixtureFiles.has(WEIGHTS)).toBe(true);
  const withExtra = () =>
    new Map([...fixtureFiles, ['README.md', Buffer.from('# tiny\n')], [EXTRA, Buffer.alloc(4096, 7)]]);
  repos.set('acme/tiny', { files: withExtra() });
  repos.set('acme/private', { files: withExtra(), token: TOKEN });
  repos.set('acme/corrupt', { files: withExtra(), corrupt: WEIGHTS });
  // A sharded checkpoint whose index names one shard, next to a consolidated copy of the weights.
  repos.set('acme/sharded', {
    files: new Map([
      ...fixtureFiles,
      ['model.safetensors.index.json', Buffer.from(JSON.stringify({ weight_map: { 'x.weight': WEIGHTS } }))],
      ['consolidated.safetensors', Buffer.alloc(8192, 3)],
    ]),
  });
  repos.set('acme/pt-only', {
    files: new Map([
      ['config.json', fixtureFiles.get('config.json')!],
      [EXTRA, Buffer.alloc(16)],
    ]),
  });
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  dir = mkdtempSync(join(tmpdir(), 'cli-models-download-'));
});

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  cutNext = null;
});

test('downloads the engine files identical to the source; the directory loads in the engine', async () => {
  const out = join(dir, 'full');
  const r = await download(['acme/tiny', '--out', out]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const summary = JSON.parse(r.stdout);
  expect(summary).toMatchObject({ repo: 'acme/tiny', revision: 'main', commit: COMMIT, out });
  expect(summary.files.map((f: { path: string }) => f.path).sort()).toEqual([...fixtureFiles.keys()].sort());
  let total = 0;
  for (const [name, body] of fixtureFiles) {
    expect(fileSha(join(out, name))).toBe(sha256(body));
    const entry = summary.files.find((f: { path: string }) => f.path === name);
    expect(entry).toEqual({ path: name, bytes: body.length, sha256: sha256(body), skipped: false });
    total += body.length;
  }
  expect(summary.bytes_downloaded).toBe(total);
  expect(existsSync(join(out, EXTRA))).toBe(false);
  expect(existsSync(join(out, 'README.md'))).toBe(false);
  expect(readdirSync(out).filter((f) => f.endsWith('.part'))).toEqual([]);
  // The hub's layout was used: the listing, then resolve (with the CDN redirect for the weights).
  expect(seen[0].path).toBe('/api/models/acme/tiny/revision/main');
  expect(seen.map((s) => s.path)).toContain(`/acme/tiny/resolve/main/${WEIGHTS}`);
  expect(seen.map((s) => s.path)).toContain(`/cdn/acme/tiny/${WEIGHTS}`);
  expect(seen.some((s) => s.path.endsWith(EXTRA))).toBe(false);
  expect(seen.every((s) => s.auth === undefined)).toBe(true);

  // `models inspect`'s summary is part of the result, and equals inspecting the source.
  const inspect = await runCli(['models', 'inspect', fixture]);
  expect(inspect.code).toBe(0);
  const src = JSON.parse(inspect.stdout);
  expect(summary.model).toMatchObject({
    architecture: 'LlamaForCausalLM',
    parameters: src.parameters,
    weights_bytes: src.weights_bytes,
  });

  // The real engine loads the downloaded directory and computes the same logits as the source.
  const addon = loadAddon();
  const tokens = [1, 17, 42, 99, 5];
  const ours = addon.computeLogits({ modelPath: out, tokens, device: 'cpu', threads: 1 });
  const ref = addon.computeLogits({ modelPath: fixture, tokens, device: 'cpu', threads: 1 });
  expect(ours.length).toBeGreaterThan(0);
  expect(Array.from(ours)).toEqual(Array.from(ref));

  // A rerun finds everything in place and downloads nothing.
  seen = [];
  const again = await download(['acme/tiny', '--out', out]);
  expect(again.code).toBe(0);
  const s2 = JSON.parse(again.stdout);
  expect(s2.bytes_downloaded).toBe(0);
  expect(s2.files).toHaveLength(fixtureFiles.size);
  for (const f of s2.files) expect(f.skipped).toBe(true);
  expect(s2.files.find((f: { path: string }) => f.path === WEIGHTS).sha256).toBe(
    sha256(fixtureFiles.get(WEIGHTS)!),
  );
  expect(seen.map((s) => s.path)).toEqual(['/api/models/acme/tiny/revision/main']);
});

test('a sharded checkpoint: the index first, then only the shards it names', async () => {
  const out = join(dir, 'sharded');
  const r = await download(['acme/sharded', '--out', out]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const summary = JSON.parse(r.stdout);
  expect(summary.files.map((f: { path: string }) => f.path)).toContain('model.safetensors.index.json');
  expect(existsSync(join(out, 'consolidated.safetensors'))).toBe(false);
  expect(seen.some((s) => s.path.includes('consolidated'))).toBe(false);
  expect(fileSha(join(out, WEIGHTS))).toBe(sha256(fixtureFiles.get(WEIGHTS)!));
  const paths = seen.map((s) => s.path);
  expect(paths.indexOf('/acme/sharded/resolve/main/model.safetensors.index.json')).toBeLessThan(
    paths.indexOf(`/acme/sharded/resolve/main/${WEIGHTS}`),
  );
  const again = await download(['acme/sharded', '--out', out]);
  expect(JSON.parse(again.stdout).bytes_downloaded).toBe(0);
});

test('a download cut mid-file leaves a .part; the rerun resumes it with Range', async () => {
  const out = join(dir, 'resume');
  const weights = fixtureFiles.get(WEIGHTS)!;
  const cutAt = 200_000;
  expect(weights.length).toBeGreaterThan(cutAt + 1000);
  cutNext = { path: `/cdn/acme/tiny/${WEIGHTS}`, after: cutAt };
  const first = await download(['acme/tiny', '--out', out]);
  expect(first.code).toBe(1);
  expect(first.stderr).toMatch(
    /^llm-inference: model\.safetensors: download interrupted after \d+ bytes .*rerun/,
  );
  noTrace(first.stderr);
  expect(existsSync(join(out, WEIGHTS))).toBe(false);
  const partSize = statSync(join(out, `${WEIGHTS}.part`)).size;
  const doneFirst = readdirSync(out).filter((f) => !f.endsWith('.part'));
  expect(doneFirst).toContain('config.json');
  expect(partSize).toBeGreaterThan(0);
  expect(partSize).toBeLessThanOrEqual(cutAt);

  seen = [];
  const second = await download(['acme/tiny', '--out', out]);
  expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
  const cdn = seen.filter((s) => s.path === `/cdn/acme/tiny/${WEIGHTS}`);
  expect(cdn.map((s) => s.range)).toEqual([`bytes=${partSize}-`]);
  expect(fileSha(join(out, WEIGHTS))).toBe(sha256(weights));
  expect(existsSync(join(out, `${WEIGHTS}.part`))).toBe(false);
  const summary = JSON.parse(second.stdout);
  const entry = summary.files.find((f: { path: string }) => f.path === WEIGHTS);
  expect(entry).toEqual({ path: WEIGHTS, bytes: weights.length, sha256: sha256(weights), skipped: false });
  // Files finished by the first run are skipped; the weights only fetched the missing tail.
  const redone = summary.files
    .filter((f: { skipped: boolean }) => !f.skipped)
    .map((f: { path: string }) => f.path);
  expect(redone.sort()).toEqual([...fixtureFiles.keys()].filter((f) => !doneFirst.includes(f)).sort());
  expect(redone).toContain(WEIGHTS);
  const rest = redone
    .filter((f: string) => f !== WEIGHTS)
    .reduce((a: number, f: string) => a + fixtureFiles.get(f)!.length, 0);
  expect(summary.bytes_downloaded).toBe(weights.length - partSize + rest);
  expect(summary.model.architecture).toBe('LlamaForCausalLM');
});

test('a private repo: 401 names HF_TOKEN; --token or HF_TOKEN makes it work', async () => {
  const out = join(dir, 'private');
  const denied = await download(['acme/private', '--out', out]);
  expect(denied.code).toBe(1);
  expect(denied.stderr).toMatch(/^llm-inference: .*HTTP 401.*gated or private.*HF_TOKEN/);
  expect(denied.stderr.trim().split('\n')).toHaveLength(1);
  noTrace(denied.stderr);
  const wrong = await download(['acme/private', '--out', out, '--token', 'hf_wrong']);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain('HF_TOKEN');

  seen = [];
  const ok = await download(['acme/private', '--out', out, '--token', TOKEN]);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
  expect(seen.filter((s) => !s.path.startsWith('/cdn/')).every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(
    true,
  );
  expect(fileSha(join(out, WEIGHTS))).toBe(sha256(fixtureFiles.get(WEIGHTS)!));

  const viaEnv = await download(['acme/private', '--out', join(dir, 'private-env')], { HF_TOKEN: TOKEN });
  expect(viaEnv.code).toBe(0);
  expect(JSON.parse(viaEnv.stdout).model.architecture).toBe('LlamaForCausalLM');
});

test('a missing repo, a missing revision, a repo without safetensors: exit 1, one clear line', async () => {
  const missing = await download(['acme/nope', '--out', join(dir, 'nope')]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(
    /^llm-inference: .*HTTP 404: repository acme\/nope or revision main not found\n$/,
  );
  noTrace(missing.stderr);
  const rev = await download(['acme/tiny', '--out', join(dir, 'rev'), '--revision', 'v9']);
  expect(rev.code).toBe(1);
  expect(rev.stderr).toContain('revision v9 not found in acme/tiny');
  const pt = await download(['acme/pt-only', '--out', join(dir, 'pt')]);
  expect(pt.code).toBe(1);
  expect(pt.stderr).toContain('no safetensors weights in acme/pt-only (this engine loads safetensors only)');
  noTrace(pt.stderr);
});

test('bad arguments are usage errors (exit 2, no traceback)', async () => {
  const cases: [string[], RegExp][] = [
    [[], /OWNER\/NAME/],
    [['noslash'], /OWNER\/NAME/],
    [['a/b/c'], /OWNER\/NAME/],
    [['acme/tiny', '--endpoint', 'http://example.com'], /refusing plain http:\/\/ endpoint example\.com/],
    [['acme/tiny', '--include', ','], /--include/],
    [['acme/tiny', '--token'], /--token needs a value/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(['models', 'download', ...args], { env: { HF_ENDPOINT: endpoint } });
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toMatch(message);
    noTrace(r.stderr);
  }
  // HF_ENDPOINT is checked the same way as --endpoint.
  const env = await runCli(['models', 'download', 'acme/tiny'], { env: { HF_ENDPOINT: 'http://10.1.2.3' } });
  expect(env.code).toBe(2);
  expect(seen).toEqual([]);
});

test('a corrupted file fails its checksum: named, no final file and no .part left', async () => {
  const out = join(dir, 'corrupt');
  const r = await download(['acme/corrupt', '--out', out]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^llm-inference: model\.safetensors: checksum mismatch \(sha256 [0-9a-f]{64}, expected /,
  );
  noTrace(r.stderr);
  expect(existsSync(join(out, WEIGHTS))).toBe(false);
  expect(existsSync(join(out, `${WEIGHTS}.part`))).toBe(false);
});

test('--include picks other files; an unreachable endpoint fails clearly', async () => {
  const out = join(dir, 'include');
  const r = await download(['acme/tiny', '--out', out, '--include', '*.bin,README.md']);
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout);
  expect(summary.files.map((f: { path: string }) => f.path).sort()).toEqual(['README.md', EXTRA]);
  expect(summary.model).toBeNull();
  expect(summary.inspect_error).toContain('no config.json');
  expect(readFileSync(join(out, EXTRA))).toEqual(Buffer.alloc(4096, 7));

  const port = await closedPort();
  const down = await download([
    'acme/tiny',
    '--out',
    join(dir, 'down'),
    '--endpoint',
    `http://127.0.0.1:${port}`,
  ]);
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(
    /^llm-inference: listing acme\/tiny@main: the endpoint .* is unreachable \(ECONNREFUSED\)/,
  );
  noTrace(down.stderr);
});
