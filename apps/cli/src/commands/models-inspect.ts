/**
 * `models inspect PATH`: what a Hugging Face model directory needs, from config.json and the
 * safetensors headers only (no weights are read): architecture, parameter count, weight bytes
 * (as stored, and as the CPU backend holds them quantized), and KV-cache bytes per token and for
 * --tokens N.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { ParsedArgs, stringFlag, UsageError } from '../args';
import { cpuQuantizedBytes } from './quantized-size';

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const KV_DTYPES: Record<string, number> = {
  float32: 4,
  f32: 4,
  bfloat16: 2,
  bf16: 2,
  float16: 2,
  f16: 2,
  fp8: 1,
};

export interface TensorInfo {
  dtype: string;
  shape: number[];
  bytes: number;
}

/** The tensor table of one .safetensors file (reads the 8-byte length and the JSON header only). */
export function readSafetensorsHeader(file: string): Map<string, TensorInfo> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Buffer.alloc(8);
    if (size < 8 || readSync(fd, len, 0, 8, 0) !== 8)
      throw new Error(`${file}: too short for a safetensors file`);
    const n = Number(len.readBigUInt64LE(0));
    if (n < 2 || n > 100 * 1024 * 1024 || 8 + n > size) {
      throw new Error(`${file}: not a safetensors file (header length ${n}, file size ${size})`);
    }
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new Error(`${file}: the safetensors header is not valid JSON`);
    }
    const out = new Map<string, TensorInfo>();
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
      if (typeof t?.dtype !== 'string' || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets)) {
        throw new Error(`${file}: tensor ${name} has no dtype/shape/data_offsets`);
      }
      const bytes = t.data_offsets[1] - t.data_offsets[0];
      const elems = t.shape.reduce((a, b) => a * b, 1);
      const per = DTYPE_BYTES[t.dtype];
      if (per !== undefined && per * elems !== bytes) {
        throw new Error(
          `${file}: tensor ${name}: ${t.dtype}${JSON.stringify(t.shape)} does not fit ${bytes} bytes`,
        );
      }
      if (8 + n + t.data_offsets[1] > size)
        throw new Error(`${file}: tensor ${name} lies past the end of the file`);
      out.set(name, { dtype: t.dtype, shape: t.shape, bytes });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 2)} ${units[i]}`;
}

export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)}K`;
  return String(n);
}

function readConfig(dir: string): Record<string, unknown> {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${dir}: no config.json (not a Hugging Face model directory)`);
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('not an object');
    return c as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: invalid JSON config (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
}

function num(c: Record<string, unknown>, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`config.json: "${key}" must be a positive number (got ${JSON.stringify(c[key])})`);
  }
  return v;
}

export function inspectModel(path: string, tokens: number, kvDtype?: string) {
  const dir = resolve(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${path}: no such directory`);
  const c = readConfig(dir);
  const hidden = num(c, 'hidden_size');
  const layers = num(c, 'num_hidden_layers');
  const heads = num(c, 'num_attention_heads');
  const kvHeads = num(c, 'num_key_value_heads', heads);
  const headDim = num(c, 'head_dim', hidden / heads);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (files.length === 0) throw new Error(`${path}: no *.safetensors files`);
  let parameters = 0;
  let weightBytes = 0;
  const byDtype: Record<string, number> = {};
  let tensors = 0;
  const all: [string, TensorInfo][] = [];
  for (const f of files) {
    for (const [name, t] of readSafetensorsHeader(join(dir, f))) {
      all.push([name, t]);
      const elems = t.shape.reduce((a, b) => a * b, 1);
      parameters += elems;
      weightBytes += t.bytes;
      byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + elems;
      tensors++;
    }
  }
  const torchDtype = typeof c.torch_dtype === 'string' ? c.torch_dtype : 'bfloat16';
  const kvName = (kvDtype ?? torchDtype).toLowerCase();
  const kvBytes = KV_DTYPES[kvName];
  if (kvBytes === undefined) {
    throw new UsageError(`--kv-dtype must be one of ${Object.keys(KV_DTYPES).join(', ')} (got ${kvName})`);
  }
  const perToken = 2 * layers * kvHeads * headDim * kvBytes;
  const quantized = cpuQuantizedBytes(all, c.tie_word_embeddings === true);
  return {
    path: dir,
    architecture: Array.isArray(c.architectures) ? c.architectures.join(',') : null,
    model_type: c.model_type ?? null,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    intermediate_size: c.intermediate_size ?? null,
    vocab_size: c.vocab_size ?? null,
    max_position_embeddings: c.max_position_embeddings ?? null,
    tie_word_embeddings: c.tie_word_embeddings ?? false,
    rope_scaling: c.rope_scaling ?? null,
    torch_dtype: torchDtype,
    files,
    tensors,
    parameters,
    parameters_human: humanCount(parameters),
    parameters_by_dtype: byDtype,
    weights_bytes: weightBytes,
    weights_human: humanBytes(weightBytes),
    cpu_quantized_weights: {
      int8: { bytes: quantized.int8, human: humanBytes(quantized.int8) },
      int4: { bytes: quantized.int4, human: humanBytes(quantized.int4) },
    },
    kv_cache: {
      dtype: kvName,
      bytes_per_token: perToken,
      tokens,
      bytes: perToken * tokens,
      human: humanBytes(perToken * tokens),
    },
    total_bytes: weightBytes + perToken * tokens,
    total_human: humanBytes(weightBytes + perToken * tokens),
  };
}

export function modelsInspect(args: ParsedArgs) {
  const path = args.positional[2];
  if (!path) {
    throw new UsageError(
      'usage: llm-inference models inspect PATH [--tokens N] [--kv-dtype bf16|f16|f32|fp8]',
    );
  }
  const raw = stringFlag(args, 'tokens');
  const tokens = raw === undefined ? 4096 : Number(raw);
  if (!Number.isInteger(tokens) || tokens < 0)
    throw new UsageError(`--tokens must be a non-negative integer (got ${raw})`);
  return inspectModel(path, tokens, stringFlag(args, 'kv-dtype'));
}
