/**
 * The pure parts of `models download`: argument checks, the hub's file listing, which files to
 * fetch (default set or --include globs), and the resume decisions for a `.part` file.
 */
import { UsageError } from '../args';

export const DOWNLOAD_HELP = `usage: llm-inference models download OWNER/NAME [--revision main] [--out .data/models/NAME]
    [--endpoint URL (default $HF_ENDPOINT, else https://huggingface.co)] [--token T (default $HF_TOKEN)]
    [--include GLOB[,GLOB...]] [--no-progress]`;

const SHARD_INDEX_NAME = 'model.safetensors.index.json';

/** What the engine loads from a model directory (the default selection; top-level files only). */
export const DEFAULT_PATTERNS = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  SHARD_INDEX_NAME,
  '*.safetensors',
];

export interface RemoteFile {
  path: string;
  /** Bytes, when the listing gives them. */
  size?: number;
  /** The LFS sha256 (hex) of the whole file, when the file is stored in LFS. */
  sha256?: string;
}

/** `owner/name`, the hub's characters only (no `..`, which would escape the default --out). */
export function validateRepoId(repo: string | undefined): string {
  if (!repo) throw new UsageError(`a repository id (OWNER/NAME) is required\n${DOWNLOAD_HELP}`);
  const parts = repo.split('/');
  const ok =
    parts.length === 2 && parts.every((p) => /^[A-Za-z0-9_.-]+$/.test(p) && p !== '.' && !p.includes('..'));
  if (!ok) throw new UsageError(`repository id must be OWNER/NAME (got ${JSON.stringify(repo)})`);
  return repo;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** An http(s) base URL without a trailing slash; plain http only to a loopback host. */
export function validateEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--endpoint is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--endpoint must be an http(s) URL (got ${url.protocol})`);
  }
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new UsageError(
      `refusing plain http:// endpoint ${url.host}: the token and files would travel unencrypted ` +
        '(use https://, or http:// only to 127.0.0.1, localhost or ::1)',
    );
  }
  if (url.search || url.hash) throw new UsageError('--endpoint must not have a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/** A glob with `*` (any run of characters, `/` included) as the only wildcard. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

export function parseIncludes(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const globs = raw
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  if (globs.length === 0) throw new UsageError('--include needs at least one glob');
  return globs;
}

/** A listed path we are willing to write under --out (relative, no `..`, no backslashes). */
function safePath(p: string): boolean {
  return (
    p.length > 0 &&
    !p.startsWith('/') &&
    !p.includes('\\') &&
    !p.includes('\0') &&
    p.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

/** `GET /api/models/{repo}/revision/{rev}?blobs=true` → the commit and the files. */
export function parseListing(body: unknown, repo: string): { commit: string | null; files: RemoteFile[] } {
  const b = body as { sha?: unknown; siblings?: unknown };
  if (typeof b !== 'object' || b === null || !Array.isArray(b.siblings)) {
    throw new Error(`${repo}: the hub's file listing has no "siblings" array`);
  }
  const files: RemoteFile[] = [];
  for (const s of b.siblings as { rfilename?: unknown; size?: unknown; lfs?: unknown }[]) {
    if (typeof s?.rfilename !== 'string') throw new Error(`${repo}: a listed file has no "rfilename"`);
    if (!safePath(s.rfilename))
      throw new Error(`${repo}: refusing unsafe file path ${JSON.stringify(s.rfilename)}`);
    const lfs = s.lfs as { sha256?: unknown; size?: unknown } | undefined;
    const f: RemoteFile = { path: s.rfilename };
    const size = typeof lfs?.size === 'number' ? lfs.size : s.size;
    if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) f.size = size;
    if (typeof lfs?.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(lfs.sha256))
      f.sha256 = lfs.sha256.toLowerCase();
    files.push(f);
  }
  return { commit: typeof b.sha === 'string' ? b.sha : null, files };
}

/** The files to fetch: those matching --include, else the default set (top-level files only). */
export function selectFiles(files: RemoteFile[], repo: string, include?: string[]): RemoteFile[] {
  if (include) {
    const res = include.map(globToRegExp);
    const picked = files.filter((f) => res.some((r) => r.test(f.path)));
    if (picked.length === 0) throw new Error(`no file in ${repo} matches --include ${include.join(',')}`);
    return picked;
  }
  const res = DEFAULT_PATTERNS.map(globToRegExp);
  const picked = files.filter((f) => !f.path.includes('/') && res.some((r) => r.test(f.path)));
  if (!picked.some((f) => f.path.endsWith('.safetensors'))) {
    throw new Error(`no safetensors weights in ${repo} (this engine loads safetensors only)`);
  }
  return picked;
}

/** The index of a sharded safetensors checkpoint. */
export const SHARD_INDEX = SHARD_INDEX_NAME;

/**
 * Keeps only the shards the index's weight_map names (some repos also ship the same weights
 * consolidated in another .safetensors file, which would be fetched and counted twice).
 */
export function shardsFromIndex(files: RemoteFile[], indexText: string, repo: string): RemoteFile[] {
  let map: unknown;
  try {
    map = (JSON.parse(indexText) as { weight_map?: unknown }).weight_map;
  } catch {
    throw new Error(`${repo}: ${SHARD_INDEX} is not JSON`);
  }
  if (!map || typeof map !== 'object') throw new Error(`${repo}: ${SHARD_INDEX} has no weight_map`);
  const shards = new Set(Object.values(map as Record<string, unknown>).map(String));
  for (const shard of shards)
    if (!files.some((f) => f.path === shard))
      throw new Error(`${repo}: ${SHARD_INDEX} names ${shard}, which the repo does not have`);
  return files.filter((f) => !f.path.endsWith('.safetensors') || shards.has(f.path));
}

/** What to do with an existing `.part` of `partSize` bytes before any request. */
export type PartDecision = { action: 'fresh' } | { action: 'resume'; from: number } | { action: 'verify' };

export function partDecision(partSize: number | null, expected?: number): PartDecision {
  if (partSize === null || partSize === 0) return { action: 'fresh' };
  if (expected === undefined) return { action: 'resume', from: partSize };
  if (partSize < expected) return { action: 'resume', from: partSize };
  if (partSize === expected) return { action: 'verify' };
  return { action: 'fresh' }; // longer than the file: not ours to keep
}

/** After a request sent with `Range: bytes={from}-` (or none when from = 0): append or start over. */
export function rangeDecision(
  status: number,
  from: number,
  contentRange: string | null,
): 'append' | 'restart' | 'unexpected' {
  if (status === 200) return 'restart';
  if (status !== 206) return 'unexpected';
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange?.trim() ?? '');
  return from > 0 && m && Number(m[1]) === from ? 'append' : 'unexpected';
}

/** One line for a failed hub request. */
export function hubError(
  status: number,
  repo: string,
  revision: string,
  what: string,
  errorCode: string | null,
): string {
  if (status === 401 || status === 403) {
    return (
      `${what}: HTTP ${status}: ${repo} is gated or private (or does not exist): set HF_TOKEN or pass ` +
      '--token with a token that has access (for a gated repo, accept its terms on the hub first)'
    );
  }
  if (status === 404) {
    if (errorCode === 'RevisionNotFound')
      return `${what}: HTTP 404: revision ${revision} not found in ${repo}`;
    if (errorCode === 'EntryNotFound') return `${what}: HTTP 404: file not found in ${repo}@${revision}`;
    return `${what}: HTTP 404: repository ${repo} or revision ${revision} not found`;
  }
  if (status === 429) return `${what}: HTTP 429: rate limited by the hub; retry later (a rerun resumes)`;
  return `${what}: HTTP ${status}`;
}
