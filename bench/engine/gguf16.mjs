// Writes a Hugging Face Llama directory (config.json + one model.safetensors, bf16/f16/f32) as a
// GGUF v3 file with BF16 or F16 matrices for llama.cpp, streaming tensor by tensor (a 1B model
// does not fit a single Buffer comfortably). Same layout rules as the oracle's F32 converter
// (test/oracle/to-gguf.mjs): Q/K rows permuted to llama.cpp's adjacent-pair RoPE, Llama 3 rope
// scaling as rope_freqs, tied embeddings by omitting output.weight; 1-D tensors stay F32.
// writeGgufLlama() takes the matrix encoding as a parameter: bench/engine/gguf-q8.mjs uses it for
// Q8_0.
//
//   node bench/engine/gguf16.mjs <model-dir> <out.gguf> bf16|f16
import { closeSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { f32ToF16Bits } from '../../test/fixtures/safetensors-writer.mjs';
import { llama3RopeFactors } from '../../test/oracle/to-gguf.mjs';

export const GGML = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, BF16: 30 };
const FTYPE = { bf16: 32, f16: 1 };
const ALIGN = 32;

// bf16 bits -> f16 bits (round to nearest even), one table for all 65536 inputs.
function bf16ToF16Table() {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const table = new Uint16Array(65536);
  for (let b = 0; b < 65536; b++) {
    u32[0] = b << 16;
    table[b] = f32ToF16Bits(f32[0]);
  }
  return table;
}

function readHeader(fd) {
  const lenBuf = Buffer.alloc(8);
  readSync(fd, lenBuf, 0, 8, 0);
  const n = Number(lenBuf.readBigUInt64LE(0));
  const hdr = Buffer.alloc(n);
  readSync(fd, hdr, 0, n, 8);
  const meta = JSON.parse(hdr.toString('utf8'));
  delete meta.__metadata__;
  return { tensors: meta, dataStart: 8 + n };
}

// Reads one safetensors tensor: { dtype, shape, buf }.
function readTensor(fd, file, name) {
  const info = file.tensors[name];
  if (!info) throw new Error(`missing tensor ${name}`);
  const [b, e] = info.data_offsets;
  const buf = Buffer.allocUnsafe(e - b);
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), file.dataStart + b + done);
    if (n <= 0) throw new Error(`short read of ${name}`);
    done += n;
  }
  return { dtype: info.dtype, shape: info.shape, buf };
}

// Converts a safetensors tensor to the wanted GGML type; returns a Buffer.
function encode(t, type, f16Table) {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype === 'BF16' && type === GGML.BF16) return t.buf;
  if (t.dtype === 'F16' && type === GGML.F16) return t.buf;
  if (t.dtype === 'F32' && type === GGML.F32) return t.buf;
  const src16 = t.dtype === 'F32' ? null : new Uint16Array(t.buf.buffer, t.buf.byteOffset, n);
  const f32 = t.dtype === 'F32' ? new Float32Array(t.buf.buffer, t.buf.byteOffset, n) : null;
  if (type === GGML.F32) {
    const out = new Float32Array(n);
    const u = new Uint32Array(out.buffer);
    if (t.dtype === 'BF16') for (let i = 0; i < n; i++) u[i] = src16[i] << 16;
    else throw new Error(`unsupported conversion ${t.dtype} -> F32`);
    return Buffer.from(out.buffer);
  }
  const out = new Uint16Array(n);
  if (type === GGML.F16 && t.dtype === 'BF16') for (let i = 0; i < n; i++) out[i] = f16Table[src16[i]];
  else if (type === GGML.F16 && f32) for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(f32[i]);
  else if (type === GGML.BF16 && f32) {
    const u = new Uint32Array(f32.buffer, f32.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16;
  } else throw new Error(`unsupported conversion ${t.dtype} -> ${type}`);
  return Buffer.from(out.buffer);
}

// llama.cpp's permute(): rows of each head go from [2][hd/2] to [hd/2][2]; rows of rowBytes each.
function permuteRows(buf, rows, nHead) {
  const rowBytes = buf.length / rows;
  const hd = rows / nHead;
  const half = hd / 2;
  const out = Buffer.allocUnsafe(buf.length);
  for (let h = 0; h < nHead; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const src = h * hd + j * half + i;
        const dst = h * hd + i * 2 + j;
        buf.copy(out, dst * rowBytes, src * rowBytes, (src + 1) * rowBytes);
      }
  return out;
}

class Header {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(b) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  kv(key, type, value) {
    this.str(key);
    if (type === 'u32') {
      this.u32(4);
      this.u32(value);
    } else if (type === 'f32') {
      this.u32(6);
      const b = Buffer.alloc(4);
      b.writeFloatLE(value);
      this.push(b);
    } else if (type === 'bool') {
      this.u32(7);
      this.push(Buffer.from([value ? 1 : 0]));
    } else if (type === 'str') {
      this.u32(8);
      this.str(value);
    } else if (type === 'strs') {
      this.u32(9);
      this.u32(8);
      this.u64(value.length);
      for (const s of value) this.str(s);
    } else if (type === 'f32s' || type === 'i32s') {
      this.u32(9);
      this.u32(type === 'f32s' ? 6 : 5);
      this.u64(value.length);
      const b = Buffer.alloc(4 * value.length);
      value.forEach((v, i) => (type === 'f32s' ? b.writeFloatLE(v, 4 * i) : b.writeInt32LE(v, 4 * i)));
      this.push(b);
    } else throw new Error(`metadata type ${type}`);
  }
}

export function writeGguf16(dir, outPath, kind) {
  if (!(kind in FTYPE)) throw new Error(`kind must be bf16 or f16, got ${kind}`);
  const type = kind === 'bf16' ? GGML.BF16 : GGML.F16;
  let f16Table = null;
  return writeGgufLlama(dir, outPath, {
    type,
    fileType: FTYPE[kind],
    bytes: (shape) => 2 * shape.reduce((a, b) => a * b, 1),
    encode: (t) => {
      if (type === GGML.F16 && t.dtype === 'BF16') f16Table ??= bf16ToF16Table();
      return encode(t, type, f16Table);
    },
  });
}

// The GGUF writer. Every 2-D tensor (all Linear weights and token_embd) is written as mat says:
//   mat.type      its GGML type id
//   mat.fileType  general.file_type (LLAMA_FTYPE_*)
//   mat.bytes(shape)  its size in bytes, shape as in safetensors ([rows, cols])
//   mat.encode(t)     its data from a safetensors tensor { dtype, shape, buf }, rows in order
//   mat.meta          optional extra [key, type, value] metadata
export function writeGgufLlama(dir, outPath, mat) {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const fd = openSync(join(dir, 'model.safetensors'), 'r');
  const file = readHeader(fd);
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads ?? H;
  const hd = cfg.head_dim ?? cfg.hidden_size / H;

  // Tensor plan: name in GGUF, source name (or a Float32Array), type, permutation heads.
  const plan = [];
  const matrix = (name, src, permute = 0) => plan.push({ name, src, type: mat.type, permute });
  const vec = (name, src) => plan.push({ name, src, type: GGML.F32, permute: 0 });
  matrix('token_embd.weight', 'model.embed_tokens.weight');
  vec('output_norm.weight', 'model.norm.weight');
  if (!cfg.tie_word_embeddings) matrix('output.weight', 'lm_head.weight');
  if (cfg.rope_scaling && (cfg.rope_scaling.rope_type ?? cfg.rope_scaling.type) === 'llama3')
    plan.push({ name: 'rope_freqs.weight', values: llama3RopeFactors(cfg), type: GGML.F32 });
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    vec(`blk.${l}.attn_norm.weight`, `${p}input_layernorm.weight`);
    matrix(`blk.${l}.attn_q.weight`, `${p}self_attn.q_proj.weight`, H);
    matrix(`blk.${l}.attn_k.weight`, `${p}self_attn.k_proj.weight`, KV);
    matrix(`blk.${l}.attn_v.weight`, `${p}self_attn.v_proj.weight`);
    matrix(`blk.${l}.attn_output.weight`, `${p}self_attn.o_proj.weight`);
    vec(`blk.${l}.ffn_norm.weight`, `${p}post_attention_layernorm.weight`);
    matrix(`blk.${l}.ffn_gate.weight`, `${p}mlp.gate_proj.weight`);
    matrix(`blk.${l}.ffn_up.weight`, `${p}mlp.up_proj.weight`);
    matrix(`blk.${l}.ffn_down.weight`, `${p}mlp.down_proj.weight`);
  }

  const h = new Header();
  h.push(Buffer.from('GGUF', 'latin1'));
  h.u32(3);
  h.u64(plan.length);
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  while (tokens.length < cfg.vocab_size) tokens.push(`piece${tokens.length}`);
  tokens.length = cfg.vocab_size;
  const meta = [
    ['general.architecture', 'str', 'llama'],
    ['general.name', 'str', 'llm-inference-bench'],
    ['general.alignment', 'u32', ALIGN],
    ['general.file_type', 'u32', mat.fileType],
    ['llama.context_length', 'u32', cfg.max_position_embeddings],
    ['llama.embedding_length', 'u32', cfg.hidden_size],
    ['llama.block_count', 'u32', cfg.num_hidden_layers],
    ['llama.feed_forward_length', 'u32', cfg.intermediate_size],
    ['llama.attention.head_count', 'u32', H],
    ['llama.attention.head_count_kv', 'u32', KV],
    ['llama.attention.key_length', 'u32', hd],
    ['llama.attention.value_length', 'u32', hd],
    ['llama.attention.layer_norm_rms_epsilon', 'f32', cfg.rms_norm_eps ?? 1e-6],
    ['llama.rope.freq_base', 'f32', cfg.rope_theta ?? 10000],
    ['llama.rope.dimension_count', 'u32', hd],
    ['llama.vocab_size', 'u32', cfg.vocab_size],
    ['tokenizer.ggml.model', 'str', 'llama'],
    ['tokenizer.ggml.tokens', 'strs', tokens],
    ['tokenizer.ggml.scores', 'f32s', tokens.map(() => 0)],
    ['tokenizer.ggml.token_type', 'i32s', tokens.map((t, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1))],
    ['tokenizer.ggml.bos_token_id', 'u32', 1],
    ['tokenizer.ggml.eos_token_id', 'u32', 2],
    ['tokenizer.ggml.unknown_token_id', 'u32', 0],
    ['tokenizer.ggml.add_bos_token', 'bool', false],
    ...(mat.meta ?? []),
  ];
  h.u64(meta.length);
  for (const [k, t, v] of meta) h.kv(k, t, v);
  let offset = 0;
  for (const t of plan) {
    const shape = t.values ? [t.values.length] : file.tensors[t.src]?.shape;
    if (!shape) throw new Error(`${dir}: missing tensor ${t.src}`);
    t.shape = shape;
    const numel = shape.reduce((a, b) => a * b, 1);
    h.str(t.name);
    h.u32(shape.length);
    for (const d of [...shape].reverse()) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    t.offset = offset;
    t.bytes = t.type === GGML.F32 ? 4 * numel : mat.bytes(shape);
    offset += t.bytes;
    offset += (ALIGN - (offset % ALIGN)) % ALIGN;
  }
  const pad = (n) => Buffer.alloc((ALIGN - (n % ALIGN)) % ALIGN);
  h.push(pad(h.length));

  const tmp = `${outPath}.tmp`;
  const out = openSync(tmp, 'w');
  try {
    const header = Buffer.concat(h.parts, h.length);
    writeSync(out, header);
    let written = 0;
    for (const t of plan) {
      if (written !== t.offset) throw new Error('gguf: offset bookkeeping');
      let data = t.values
        ? Buffer.from(t.values.buffer)
        : t.type === GGML.F32
          ? encode(readTensor(fd, file, t.src), GGML.F32)
          : mat.encode(readTensor(fd, file, t.src));
      if (data.length !== t.bytes) throw new Error(`gguf: ${t.name} is ${data.length} bytes, not ${t.bytes}`);
      if (t.permute) data = permuteRows(data, t.shape[0], t.permute);
      writeSync(out, data);
      written += data.length;
      const p = pad(written);
      if (p.length) writeSync(out, p);
      written += p.length;
    }
  } finally {
    closeSync(out);
    closeSync(fd);
  }
  renameSync(tmp, outPath);
  return outPath;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [dir, out, kind] = process.argv.slice(2);
  if (!dir || !out || !kind) {
    console.error('usage: node bench/engine/gguf16.mjs <model-dir> <out.gguf> bf16|f16');
    process.exit(2);
  }
  writeGguf16(resolve(dir), resolve(out), kind);
  console.log(`wrote ${out}`);
}
