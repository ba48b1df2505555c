// Writes a Hugging Face Llama directory as a GGUF v3 file with Q8_0 matrices (what llama.cpp's
// `llama-quantize ... Q8_0` makes): the layout, metadata and F32 1-D tensors of
// bench/engine/gguf16.mjs, and every 2-D tensor (the Linear weights and token_embd, which is also
// the tied lm_head) in blocks of 32 consecutive values of a row: an f16 scale d = max|x| / 127,
// then 32 int8 q = round(x / d) (half away from zero, as llama.cpp's reference quantizer).
//
//   node bench/engine/gguf-q8.mjs <model-dir> <out.gguf>
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { f16BitsToF32, f32ToF16Bits } from '../../test/fixtures/safetensors-writer.mjs';
import { GGML, writeGgufLlama } from './gguf16.mjs';

const QK = 32;
const BLOCK_BYTES = 2 + QK;
const LLAMA_FTYPE_MOSTLY_Q8_0 = 7;
const GGML_QNT_VERSION = 2;

// 16-bit source value -> f32, one table for all 65536 inputs.
function table16(dtype) {
  const t = new Float32Array(65536);
  if (dtype === 'BF16') {
    const u = new Uint32Array(t.buffer);
    for (let b = 0; b < 65536; b++) u[b] = b << 16;
  } else for (let b = 0; b < 65536; b++) t[b] = f16BitsToF32(b);
  return t;
}
const tables = {};

/** value(i) of a safetensors matrix (BF16, F16 or F32) as f32; its element count. */
export function matrixValues(t, blockSize, what) {
  const [rows, cols] = t.shape;
  if (t.shape.length !== 2 || cols % blockSize)
    throw new Error(`${what} needs rows of a multiple of ${blockSize}: ${t.shape}`);
  const n = rows * cols;
  if (t.dtype === 'F32') {
    const src = new Float32Array(t.buf.buffer, t.buf.byteOffset, n);
    return { n, get: (i) => src[i] };
  }
  if (t.dtype === 'BF16' || t.dtype === 'F16') {
    const src = new Uint16Array(t.buf.buffer, t.buf.byteOffset, n);
    const tab = (tables[t.dtype] ??= table16(t.dtype));
    return { n, get: (i) => tab[src[i]] };
  }
  throw new Error(`unsupported dtype ${t.dtype} for ${what}`);
}

// One safetensors matrix (BF16, F16 or F32) -> Q8_0 bytes, row by row.
export function quantizeQ8_0(t) {
  const { n, get } = matrixValues(t, QK, 'Q8_0');
  const out = Buffer.alloc((n / QK) * BLOCK_BYTES);
  const q = new Int8Array(out.buffer, out.byteOffset, out.length);
  const x = new Float32Array(QK);
  let o = 0;
  for (let b = 0; b < n; b += QK, o += BLOCK_BYTES) {
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      x[j] = get(b + j);
      amax = Math.max(amax, Math.abs(x[j]));
    }
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const h = f32ToF16Bits(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK; j++) {
      const v = Math.fround(x[j] * id);
      q[o + 2 + j] = v < 0 ? -Math.floor(0.5 - v) : Math.floor(v + 0.5);
    }
  }
  return out;
}

export function writeGgufQ8(dir, outPath) {
  return writeGgufLlama(dir, outPath, {
    type: GGML.Q8_0,
    fileType: LLAMA_FTYPE_MOSTLY_Q8_0,
    bytes: ([rows, cols]) => rows * (cols / QK) * BLOCK_BYTES,
    encode: quantizeQ8_0,
    meta: [['general.quantization_version', 'u32', GGML_QNT_VERSION]],
  });
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out) {
    console.error('usage: node bench/engine/gguf-q8.mjs <model-dir> <out.gguf>');
    process.exit(2);
  }
  writeGgufQ8(resolve(dir), resolve(out));
  console.log(`wrote ${out}`);
}
