// Writes a Hugging Face Llama directory as a GGUF v3 file with Q4_0 matrices (what llama.cpp's
// `llama-quantize ... Q4_0` makes): as bench/engine/gguf-q8.mjs, with every 2-D tensor in blocks
// of 32 consecutive values of a row: an f16 scale d = m / -8 (m the value of largest magnitude),
// then 16 bytes whose low nibbles hold values 0..15 and high nibbles values 16..31, each
// min(15, trunc(x / d + 8.5)) (llama.cpp's reference quantizer).
//
//   node bench/engine/gguf-q4.mjs <model-dir> <out.gguf>
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { f32ToF16Bits } from '../../test/fixtures/safetensors-writer.mjs';
import { GGML, writeGgufLlama } from './gguf16.mjs';
import { matrixValues } from './gguf-q8.mjs';

const QK = 32;
const BLOCK_BYTES = 2 + QK / 2;
const LLAMA_FTYPE_MOSTLY_Q4_0 = 2;
const GGML_QNT_VERSION = 2;

export function quantizeQ4_0(t) {
  const { n, get } = matrixValues(t, QK, 'Q4_0');
  const out = Buffer.alloc((n / QK) * BLOCK_BYTES);
  const x = new Float32Array(QK);
  let o = 0;
  for (let b = 0; b < n; b += QK, o += BLOCK_BYTES) {
    let m = 0;
    for (let j = 0; j < QK; j++) {
      x[j] = get(b + j);
      if (Math.abs(x[j]) > Math.abs(m)) m = x[j];
    }
    const d = Math.fround(m / -8);
    const id = d ? Math.fround(1 / d) : 0;
    const h = f32ToF16Bits(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK / 2; j++) {
      const lo = Math.min(15, Math.trunc(Math.fround(x[j] * id) + 8.5));
      const hi = Math.min(15, Math.trunc(Math.fround(x[j + QK / 2] * id) + 8.5));
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

export function writeGgufQ4(dir, outPath) {
  return writeGgufLlama(dir, outPath, {
    type: GGML.Q4_0,
    fileType: LLAMA_FTYPE_MOSTLY_Q4_0,
    bytes: ([rows, cols]) => rows * (cols / QK) * BLOCK_BYTES,
    encode: quantizeQ4_0,
    meta: [['general.quantization_version', 'u32', GGML_QNT_VERSION]],
  });
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out) {
    console.error('usage: node bench/engine/gguf-q4.mjs <model-dir> <out.gguf>');
    process.exit(2);
  }
  writeGgufQ4(resolve(dir), resolve(out));
  console.log(`wrote ${out}`);
}
