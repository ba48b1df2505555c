/**
 * `models download OWNER/NAME`: fetch a model from a Hugging Face-compatible hub into a directory
 * the engine loads (MODEL_PATH). Lists the files (`/api/models/{repo}/revision/{rev}?blobs=true`),
 * streams each (`/{repo}/resolve/{rev}/{path}`) into `path.part`, resumable with `Range`, checks
 * the size and the LFS sha256, then renames. Finally runs `models inspect` on the directory.
 */
import { createHash, Hash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ParsedArgs, stringFlag, UsageError } from '../args';
import { ProgressBar } from './bench/progress';
import {
  hubError,
  parseIncludes,
  parseListing,
  partDecision,
  rangeDecision,
  RemoteFile,
  selectFiles,
  SHARD_INDEX,
  shardsFromIndex,
  validateEndpoint,
  validateRepoId,
} from './models-download-plan';
import { inspectModel } from './models-inspect';

interface Hub {
  endpoint: string;
  repo: string;
  revision: string;
  token?: string;
}

interface FileResult {
  path: string;
  bytes: number;
  sha256?: string;
  skipped: boolean;
}

function causeText(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

async function hubFetch(hub: Hub, url: string, what: string, headers: Record<string, string> = {}) {
  if (hub.token) headers.authorization = `Bearer ${hub.token}`;
  try {
    return await fetch(url, { headers, redirect: 'follow' });
  } catch (err) {
    throw new Error(`${what}: the endpoint ${hub.endpoint} is unreachable (${causeText(err)})`, {
      cause: err,
    });
  }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** Streams one file into `final.part` (appending when the server honours Range), checks, renames. */
async function downloadFile(
  hub: Hub,
  out: string,
  file: RemoteFile,
  onBytes: (n: number) => void,
): Promise<{ sha256: string; downloaded: number }> {
  const final = join(out, file.path);
  const part = `${final}.part`;
  mkdirSync(dirname(final), { recursive: true });
  const url = `${hub.endpoint}/${hub.repo}/resolve/${encodeURIComponent(hub.revision)}/${encodePath(file.path)}`;
  const decision = partDecision(sizeOf(part), file.size);
  let hash = createHash('sha256');
  let downloaded = 0;
  if (decision.action === 'fresh') rmSync(part, { force: true });
  else await hashFile(part, hash); // resume or verify: the bytes already there count toward the hash
  if (decision.action !== 'verify') {
    const from = decision.action === 'resume' ? decision.from : 0;
    const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-` } : {};
    const res = await hubFetch(hub, url, file.path, headers);
    if (res.status === 416 && from > 0) {
      // The server says the part already covers the file (or is bogus): start over next run.
      await res.body?.cancel();
      rmSync(part, { force: true });
      throw new Error(
        `${file.path}: the server refused to resume (HTTP 416); the partial file was deleted, rerun`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(
        hubError(res.status, hub.repo, hub.revision, file.path, res.headers.get('x-error-code')),
      );
    }
    let append = false;
    if (from > 0) {
      const d = rangeDecision(res.status, from, res.headers.get('content-range'));
      if (d === 'unexpected') {
        await res.body?.cancel();
        throw new Error(
          `${file.path}: unexpected answer to a range request (HTTP ${res.status}, ` +
            `Content-Range ${res.headers.get('content-range')})`,
        );
      }
      append = d === 'append';
    }
    if (!append) hash = createHash('sha256'); // a full answer: start the part over
    if (!res.body) throw new Error(`${file.path}: empty response body`);
    const h = hash;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        downloaded += chunk.length;
        onBytes(chunk.length);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
        meter,
        createWriteStream(part, { flags: append ? 'a' : 'w' }),
      );
    } catch (err) {
      throw new Error(
        `${file.path}: download interrupted after ${sizeOf(part) ?? 0} bytes (${causeText(err)}); ` +
          `rerun the same command to resume from ${part}`,
        { cause: err },
      );
    }
  }
  const bytes = sizeOf(part) ?? 0;
  if (file.size !== undefined && bytes !== file.size) {
    if (bytes > file.size) rmSync(part, { force: true });
    throw new Error(
      `${file.path}: got ${bytes} bytes, the listing says ${file.size}` +
        (bytes < file.size ? `; rerun to resume from ${part}` : '; the partial file was deleted, rerun'),
    );
  }
  const sha256 = hash.digest('hex');
  if (file.sha256 && sha256 !== file.sha256) {
    rmSync(part, { force: true });
    throw new Error(
      `${file.path}: checksum mismatch (sha256 ${sha256}, expected ${file.sha256}); ` +
        'the downloaded file was deleted, rerun to fetch it again',
    );
  }
  renameSync(part, final);
  return { sha256, downloaded };
}

/** An existing final file with the listed size (and sha256, when listed) is kept. */
async function alreadyThere(out: string, file: RemoteFile): Promise<{ sha256?: string } | null> {
  const final = join(out, file.path);
  const size = sizeOf(final);
  if (size === null || file.size === undefined || size !== file.size) return null;
  if (!file.sha256) return {};
  const h = createHash('sha256');
  await hashFile(final, h);
  return h.digest('hex') === file.sha256 ? { sha256: file.sha256 } : null;
}

export async function modelsDownload(args: ParsedArgs): Promise<unknown> {
  const repo = validateRepoId(args.positional[2]);
  const revision = stringFlag(args, 'revision') ?? 'main';
  if (!revision) throw new UsageError('--revision must not be empty');
  const endpoint = validateEndpoint(
    stringFlag(args, 'endpoint') ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co',
  );
  const token = stringFlag(args, 'token') ?? (process.env.HF_TOKEN || undefined);
  const include = parseIncludes(stringFlag(args, 'include'));
  const out = resolve(stringFlag(args, 'out') ?? join('.data', 'models', repo.split('/')[1]));
  const hub: Hub = { endpoint, repo, revision, token };

  const listUrl = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await hubFetch(hub, listUrl, `listing ${repo}@${revision}`);
  const text = await res.text();
  if (!res.ok) {
    throw new Error(
      hubError(res.status, repo, revision, `listing ${repo}@${revision}`, res.headers.get('x-error-code')),
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`listing ${repo}@${revision}: the endpoint did not answer JSON (is ${endpoint} a hub?)`);
  }
  const { commit, files: listed } = parseListing(body, repo);
  let files = selectFiles(listed, repo, include);
  mkdirSync(out, { recursive: true });

  const results: FileResult[] = [];
  let bytesDownloaded = 0;
  // A sharded checkpoint: the index first, then only the shards it names.
  const index = include ? undefined : files.find((f) => f.path === SHARD_INDEX);
  if (index && !(await alreadyThere(out, index))) {
    const r = await downloadFile(hub, out, index, () => undefined);
    bytesDownloaded += r.downloaded;
    results.push({
      path: index.path,
      bytes: sizeOf(join(out, index.path)) ?? 0,
      sha256: r.sha256,
      skipped: false,
    });
  }
  if (index) files = shardsFromIndex(files, readFileSync(join(out, SHARD_INDEX), 'utf8'), repo);
  const todo: RemoteFile[] = [];
  for (const f of files) {
    if (results.some((r) => r.path === f.path)) continue;
    const have = await alreadyThere(out, f);
    if (have) results.push({ path: f.path, bytes: f.size!, ...have, skipped: true });
    else todo.push(f);
  }
  const total = todo.reduce((a, f) => a + (f.size ?? 0), 0);
  const bar = new ProgressBar(total, 'download', args.flags['no-progress'] !== true);
  let done = 0;
  try {
    for (const f of todo) {
      const already = sizeOf(`${join(out, f.path)}.part`) ?? 0;
      if (partDecision(already, f.size).action !== 'fresh') done += already;
      const r = await downloadFile(hub, out, f, (n) => {
        done += n;
        bar.update(Math.min(done, total), `${(done / 1048576).toFixed(1)} MiB ${f.path}`);
      });
      bytesDownloaded += r.downloaded;
      results.push({ path: f.path, bytes: sizeOf(join(out, f.path)) ?? 0, sha256: r.sha256, skipped: false });
    }
  } finally {
    bar.finish();
  }
  const order = new Map(files.map((f, i) => [f.path, i]));
  results.sort((a, b) => order.get(a.path)! - order.get(b.path)!);

  const summary = { repo, revision, commit, out, files: results, bytes_downloaded: bytesDownloaded };
  try {
    const m = inspectModel(out, 4096);
    return {
      ...summary,
      model: {
        architecture: m.architecture,
        model_type: m.model_type,
        parameters: m.parameters,
        parameters_human: m.parameters_human,
        weights_bytes: m.weights_bytes,
        weights_human: m.weights_human,
        torch_dtype: m.torch_dtype,
      },
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // With --include the user chose the files; only the default set must make a loadable model.
    if (include) return { ...summary, model: null, inspect_error: msg };
    throw new Error(`downloaded to ${out}, but it is not a loadable model: ${msg}`, { cause: err });
  }
}
