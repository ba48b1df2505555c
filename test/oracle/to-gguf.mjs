// Converts a Hugging Face Llama directory (config.json + model.safetensors or shards) into a
// GGUF file with F32 weights for llama.cpp: Q/K rows permuted to llama.cpp's adjacent-pair RoPE
// layout, Llama 3 rope scaling as a rope_freqs tensor, tied embeddings by omitting output.weight.
// bf16/f16 weights widen to f32 exactly, so both engines compute with identical weights.
//
//   node test/oracle/to-gguf.mjs <model-dir> <out.gguf> [--no-permute]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readSafetensors } from '../fixtures/safetensors-writer.mjs';
import { ggufBytes } from './gguf-writer.mjs';

function loadTensors(dir) {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return readSafetensors(readFileSync(single)).tensors;
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
  const out = {};
  for (const file of new Set(Object.values(index.weight_map))) {
    Object.assign(out, readSafetensors(readFileSync(join(dir, file))).tensors);
  }
  return out;
}

// llama.cpp's convert_hf_to_gguf permute(): rows of each head go from [2][hd/2] to [hd/2][2].
export function permuteQK(values, rows, cols, nHead) {
  const hd = rows / nHead;
  const half = hd / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = h * hd + j * half + i;
        const dst = h * hd + i * 2 + j;
        out.set(values.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

// Llama 3 rope scaling as llama.cpp's rope_freqs: theta_i / factor_i (convert_hf_to_gguf's formula).
export function llama3RopeFactors(cfg) {
  const hd = cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads;
  const s = cfg.rope_scaling;
  const base = cfg.rope_theta ?? 10000;
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  const factors = new Float32Array(hd / 2);
  for (let i = 0; i < hd / 2; i++) {
    const freq = 1 / base ** ((2 * i) / hd);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) factors[i] = 1;
    else if (wavelen > lowWavelen) factors[i] = s.factor;
    else {
      const smooth =
        (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
        (s.high_freq_factor - s.low_freq_factor);
      factors[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return factors;
}

// A SentencePiece-style vocabulary of `n` unique pieces; the ids only need to exist, the oracle
// feeds token ids directly.
function vocab(n) {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  while (tokens.length < n) tokens.push(`piece${tokens.length}`);
  tokens.length = n;
  const types = tokens.map((t, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  return { tokens, scores: tokens.map(() => 0), types };
}

// options.permuteQK = false skips the Q/K permutation: a deliberately wrong GGUF, which the oracle
// test uses to show that it can tell a wrong model from a right one.
export function convert(dir, outPath, options = {}) {
  const permute = options.permuteQK !== false;
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const t = loadTensors(dir);
  const H = cfg.num_attention_heads;
  const KV = cfg.num_key_value_heads ?? H;
  const hd = cfg.head_dim ?? cfg.hidden_size / H;
  if (cfg.vocab_size < 259) throw new Error('vocab too small for the SentencePiece-style GGUF vocabulary');
  const get = (name) => {
    if (!t[name]) throw new Error(`${dir}: missing tensor ${name}`);
    return t[name];
  };
  const tensors = [];
  const add = (name, src, values) => tensors.push({ name, shape: src.shape, data: values ?? src.values });
  add('token_embd.weight', get('model.embed_tokens.weight'));
  add('output_norm.weight', get('model.norm.weight'));
  if (!cfg.tie_word_embeddings) add('output.weight', get('lm_head.weight'));
  if (cfg.rope_scaling && (cfg.rope_scaling.rope_type ?? cfg.rope_scaling.type) === 'llama3') {
    const f = llama3RopeFactors(cfg);
    tensors.push({ name: 'rope_freqs.weight', shape: [f.length], data: f });
  }
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const q = get(`${p}self_attn.q_proj.weight`);
    const k = get(`${p}self_attn.k_proj.weight`);
    add(`blk.${l}.attn_norm.weight`, get(`${p}input_layernorm.weight`));
    add(`blk.${l}.attn_q.weight`, q, permute ? permuteQK(q.values, q.shape[0], q.shape[1], H) : q.values);
    add(`blk.${l}.attn_k.weight`, k, permute ? permuteQK(k.values, k.shape[0], k.shape[1], KV) : k.values);
    add(`blk.${l}.attn_v.weight`, get(`${p}self_attn.v_proj.weight`));
    add(`blk.${l}.attn_output.weight`, get(`${p}self_attn.o_proj.weight`));
    add(`blk.${l}.ffn_norm.weight`, get(`${p}post_attention_layernorm.weight`));
    add(`blk.${l}.ffn_gate.weight`, get(`${p}mlp.gate_proj.weight`));
    add(`blk.${l}.ffn_up.weight`, get(`${p}mlp.up_proj.weight`));
    add(`blk.${l}.ffn_down.weight`, get(`${p}mlp.down_proj.weight`));
  }
  const v = vocab(cfg.vocab_size);
  const u32 = (value) => ({ type: 'u32', value });
  const metadata = [
    ['general.architecture', { type: 'str', value: 'llama' }],
    ['general.name', { type: 'str', value: 'llm-inference-oracle' }],
    ['general.alignment', u32(32)],
    ['general.file_type', u32(0)],
    ['llama.context_length', u32(cfg.max_position_embeddings)],
    ['llama.embedding_length', u32(cfg.hidden_size)],
    ['llama.block_count', u32(cfg.num_hidden_layers)],
    ['llama.feed_forward_length', u32(cfg.intermediate_size)],
    ['llama.attention.head_count', u32(H)],
    ['llama.attention.head_count_kv', u32(KV)],
    ['llama.attention.key_length', u32(hd)],
    ['llama.attention.value_length', u32(hd)],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: cfg.rms_norm_eps ?? 1e-6 }],
    ['llama.rope.freq_base', { type: 'f32', value: cfg.rope_theta ?? 10000 }],
    ['llama.rope.dimension_count', u32(hd)],
    ['llama.vocab_size', u32(cfg.vocab_size)],
    ['tokenizer.ggml.model', { type: 'str', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'arr', elem: 'str', value: v.tokens }],
    ['tokenizer.ggml.scores', { type: 'arr', elem: 'f32', value: v.scores }],
    ['tokenizer.ggml.token_type', { type: 'arr', elem: 'i32', value: v.types }],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ];
  writeFileSync(outPath, ggufBytes(metadata, tensors));
  return outPath;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const [dir, out, flag] = process.argv.slice(2);
  if (!dir || !out) {
    console.error('usage: node test/oracle/to-gguf.mjs <model-dir> <out.gguf>');
    process.exit(2);
  }
  convert(resolve(dir), resolve(out), { permuteQK: flag !== '--no-permute' });
  console.log(`wrote ${out}`);
}
