#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace llm {
namespace cpu {

namespace {

// One token and one KV head: the n_rep query heads sharing it read each cached K/V row once.
void attend_group(const ForwardBatch& b, int seq, int32_t pos, int g, const AttentionShape& s, const KvLayerView& kv,
                  const float* q_tok, float* out_tok, const Kernels& kern, float* scores) {
  const int hd = s.head_dim;
  const int n_rep = s.num_heads / s.num_kv_heads;
  const int kv_stride = s.num_kv_heads * hd;
  const int ctx = pos + 1;
  const int32_t* table = b.block_tables.data() + static_cast<int64_t>(seq) * b.max_blocks_per_seq;
  const int bs = b.block_size;

  for (int p = 0; p < ctx; ++p) {
    const int64_t slot = static_cast<int64_t>(table[p / bs]) * bs + p % bs;
    const float* k = kv.k + slot * kv_stride + static_cast<int64_t>(g) * hd;
    for (int r = 0; r < n_rep; ++r)
      scores[static_cast<int64_t>(r) * ctx + p] = kern.dot(q_tok + static_cast<int64_t>(g * n_rep + r) * hd, k, hd) * s.scale;
  }
  for (int r = 0; r < n_rep; ++r) {
    float* sc = scores + static_cast<int64_t>(r) * ctx;
    float mx = sc[0];
    for (int p = 1; p < ctx; ++p) mx = std::max(mx, sc[p]);
    double sum = 0;
    for (int p = 0; p < ctx; ++p) {
      sc[p] = std::exp(sc[p] - mx);
      sum += sc[p];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int p = 0; p < ctx; ++p) sc[p] *= inv;
    std::memset(out_tok + static_cast<int64_t>(g * n_rep + r) * hd, 0, sizeof(float) * hd);
  }
  for (int p = 0; p < ctx; ++p) {
    const int64_t slot = static_cast<int64_t>(table[p / bs]) * bs + p % bs;
    const float* v = kv.v + slot * kv_stride + static_cast<int64_t>(g) * hd;
    for (int r = 0; r < n_rep; ++r)
      kern.axpy(scores[static_cast<int64_t>(r) * ctx + p], v, out_tok + static_cast<int64_t>(g * n_rep + r) * hd, hd);
  }
}

}  // namespace

void paged_attention(const ForwardBatch& batch, const std::vector<int32_t>& token_seq, const AttentionShape& shape,
                     const KvLayerView& kv, const float* q, float* out, const Kernels& kern, ThreadPool& pool,
                     std::vector<std::vector<float>>& scratch) {
  const int T = batch.num_tokens();
  const int KV = shape.num_kv_heads;
  const int64_t qdim = static_cast<int64_t>(shape.num_heads) * shape.head_dim;
  int32_t max_ctx = 0;
  for (int t = 0; t < T; ++t) max_ctx = std::max(max_ctx, batch.positions[t] + 1);
  const size_t need = static_cast<size_t>(max_ctx) * (shape.num_heads / KV);
  scratch.resize(pool.size());
  for (auto& s : scratch)
    if (s.size() < need) s.resize(need);

  // One captured pointer: the closure fits std::function's inline buffer (no allocation per call).
  struct Ctx {
    const ForwardBatch& batch;
    const std::vector<int32_t>& token_seq;
    const AttentionShape& shape;
    const KvLayerView& kv;
    const float* q;
    float* out;
    const Kernels& kern;
    std::vector<std::vector<float>>& scratch;
    int64_t items, qdim;
    int KV;
  } c{batch, token_seq, shape, kv, q, out, kern, scratch, static_cast<int64_t>(T) * KV, qdim, KV};
  pool.run([&c](int i, int n) {
    float* sc = c.scratch[i].data();
    for (int64_t item = c.items * i / n; item < c.items * (i + 1) / n; ++item) {
      const int t = static_cast<int>(item / c.KV);
      const int g = static_cast<int>(item % c.KV);
      attend_group(c.batch, c.token_seq[t], c.batch.positions[t], g, c.shape, c.kv, c.q + t * c.qdim,
                   c.out + t * c.qdim, c.kern, sc);
    }
  });
}

}  // namespace cpu
}  // namespace llm
