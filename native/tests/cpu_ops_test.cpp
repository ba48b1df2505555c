// Per-op tests of the CPU backend: GEMM of every ISA variant and weight dtype vs float64 (odd
// shapes, tails), bitwise independence of the tiling/batch size, RoPE vs float64, RMSNorm,
// paged attention over a shuffled block layout vs a contiguous float64 reference, thread pool.
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "backend/cpu/attention.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/ops.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/weight_types.h"
#include "cpu_reference.h"
#include "cpu_test_util.h"
#include "testing.h"

using namespace llm::cpu;
using cputest::randn;

namespace {

std::vector<const Kernels*> all_isas() {
  std::vector<const Kernels*> k = {&scalar_kernels()};
  if (avx2_kernels()) k.push_back(avx2_kernels());
  if (avx512_kernels()) k.push_back(avx512_kernels());
  if (amx_kernels()) k.push_back(amx_kernels());
  return k;
}

// Round-trip f32 -> f16 bits for exactly representable test values (|x| in normal range).
uint16_t to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000;
  const int exp = static_cast<int>((u >> 23) & 0xff) - 127 + 15;
  const uint32_t mant = (u >> 13) & 0x3ff;
  if (exp <= 0) return static_cast<uint16_t>(sign);
  return static_cast<uint16_t>(sign | (exp << 10) | mant);
}

// y (T x O, one GEMM over all tokens) against float64 x . exact^T, then each token row run alone
// by `one_row(x_row, y_row)` bit for bit (batch invariance of the tiling). Reports `what` and
// returns false at the first wrong element.
template <class OneRow>
bool gemm_matches(const std::vector<float>& y, const std::vector<float>& x, const std::vector<float>& exact,
                  int64_t T, int64_t O, int64_t K, const std::string& what, OneRow one_row) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < O; ++o) {
      double s = 0;
      for (int64_t kk = 0; kk < K; ++kk) s += static_cast<double>(exact[o * K + kk]) * x[t * K + kk];
      if (std::fabs(y[t * O + o] - s) > 1e-5 * (1 + std::sqrt(static_cast<double>(K)))) {
        testing::report_failure(__FILE__, __LINE__,
                                what + " K=" + std::to_string(K) + " T=" + std::to_string(T) + " mismatch");
        return false;
      }
    }
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> y1(O);
    one_row(x.data() + t * K, y1.data());
    EXPECT(std::memcmp(y1.data(), y.data() + t * O, O * sizeof(float)) == 0);
  }
  return true;
}

}  // namespace

TEST(gemm_all_isas_and_dtypes_match_float64) {
  for (int64_t K : {1, 7, 16, 33, 64, 172}) {
    for (int64_t T : {1, 2, 3, 5, 9}) {
      const int64_t O = 19;
      auto x = randn(T * K, K * 100 + T);
      auto wf = randn(O * K, K + 7, 0.3f);
      std::vector<uint16_t> wb(O * K), wh(O * K);
      std::vector<float> wb_f(O * K), wh_f(O * K);
      for (int64_t i = 0; i < O * K; ++i) {
        wb[i] = f32_to_bf16(wf[i]);
        wb_f[i] = bf16_to_f32(wb[i]);
        wh[i] = to_f16(wf[i]);
        wh_f[i] = f16_to_f32(wh[i]);
      }
      struct Case {
        llm::DType dt;
        const void* data;
        const std::vector<float>* exact;
      } cases[] = {{llm::DType::F32, wf.data(), &wf}, {llm::DType::BF16, wb.data(), &wb_f}, {llm::DType::F16, wh.data(), &wh_f}};
      for (const Case& c : cases) {
        WeightMatrix W{c.dt, c.data, O, K};
        for (const Kernels* k : all_isas()) {
          std::vector<float> y(T * O, -1.0f);
          // Two row ranges, as two threads would split it.
          k->gemm(x.data(), T, K, W, 0, 8, y.data(), O);
          k->gemm(x.data(), T, K, W, 8, O, y.data() + 8, O);
          if (!gemm_matches(y, x, *c.exact, T, O, K, std::string(k->isa) + " " + llm::dtype_name(c.dt),
                            [&](const float* xr, float* yr) { k->gemm(xr, 1, K, W, 0, O, yr, O); }))
            return;
        }
      }
    }
  }
}

// The packed path (the one the backend uses for Linear weights) of every ISA that has one:
// several token blocks (AMX tiles hold 16 tokens), K and output counts off the tile sizes, two
// thread ranges split at a panel boundary.
TEST(packed_gemm_all_isas_match_float64_and_are_batch_invariant) {
  for (int64_t K : {1, 7, 33, 64, 172}) {
    for (int64_t T : {1, 3, 16, 17, 40}) {
      const int64_t O = 70;
      auto x = randn(T * K, K * 31 + T);
      auto wf = randn(O * K, K + 11, 0.3f);
      std::vector<uint16_t> wb(O * K);
      std::vector<float> wb_f(O * K);
      for (int64_t i = 0; i < O * K; ++i) {
        wb[i] = f32_to_bf16(wf[i]);
        wb_f[i] = bf16_to_f32(wb[i]);
      }
      struct Case {
        llm::DType dt;
        const void* data;
        const std::vector<float>* exact;
      } cases[] = {{llm::DType::F32, wf.data(), &wf}, {llm::DType::BF16, wb.data(), &wb_f}};
      for (const Case& c : cases) {
        WeightMatrix W{c.dt, c.data, O, K};
        for (const Kernels* k : all_isas()) {
          if (k->panel <= 0) continue;
          const int64_t panels = (O + k->panel - 1) / k->panel;
          std::vector<uint8_t> buf(k->packed_bytes(W) + 64);
          void* dst = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t{63});
          k->pack(W, 0, 1, dst);
          k->pack(W, 1, panels, dst);
          PackedMatrix P{c.dt, dst, O, K, k->panel};
          std::vector<float> y(T * O, -1.0f);
          const int64_t split = k->panel;
          k->gemm_packed(x.data(), T, K, P, 0, split, y.data(), O);
          k->gemm_packed(x.data(), T, K, P, split, O, y.data() + split, O);
          if (!gemm_matches(y, x, *c.exact, T, O, K, std::string(k->isa) + " packed " + llm::dtype_name(c.dt),
                            [&](const float* xr, float* yr) { k->gemm_packed(xr, 1, K, P, 0, O, yr, O); }))
            return;
        }
      }
    }
  }
}

TEST(dot_axpy_to_f32) {
  for (const Kernels* k : all_isas()) {
    auto a = randn(37, 1), b = randn(37, 2);
    double s = 0;
    for (int i = 0; i < 37; ++i) s += static_cast<double>(a[i]) * b[i];
    EXPECT_NEAR(k->dot(a.data(), b.data(), 37), s, 1e-5);
    std::vector<float> y = b;
    k->axpy(0.5f, a.data(), y.data(), 37);
    for (int i = 0; i < 37; ++i) EXPECT_NEAR(y[i], b[i] + 0.5 * a[i], 1e-6);
    std::vector<uint16_t> bits(37);
    for (int i = 0; i < 37; ++i) bits[i] = f32_to_bf16(a[i]);
    std::vector<float> out(37);
    k->to_f32(llm::DType::BF16, bits.data(), out.data(), 37);
    for (int i = 0; i < 37; ++i) EXPECT_EQ(out[i], bf16_to_f32(bits[i]));
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

TEST(rope_matches_float64) {
  llm::ModelConfig c;
  c.head_dim = 32;
  c.rope_theta = 500000.0f;
  c.rope_scaling.enabled = true;
  c.rope_scaling.factor = 8.0f;
  c.rope_scaling.original_max_position_embeddings = 512;
  const auto inv = llm::rope_inv_freq(c);
  const auto inv64 = ref::inv_freq(c);
  const int heads = 3, T = 4, half = 16;
  const std::vector<int32_t> pos = {0, 1, 77, 1999};
  auto x = randn(T * heads * 32, 5);
  const auto x0 = x;
  std::vector<float> co(T * half), si(T * half);
  rope_tables(pos.data(), T, inv.data(), half, co.data(), si.data());
  apply_rope(x.data(), T, heads, 32, co.data(), si.data());
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < half; ++i) {
        // The angle is float32(position * inv_freq) as in Hugging Face (and llama.cpp); the rest in
        // float64. inv_freq itself agrees with the float64 formula to float precision.
        EXPECT_NEAR(inv[i], inv64[i], inv64[i] * 1e-6);
        const double a = static_cast<double>(static_cast<float>(pos[t]) * inv[i]);
        const double x1 = x0[(t * heads + h) * 32 + i], x2 = x0[(t * heads + h) * 32 + i + half];
        EXPECT_NEAR(x[(t * heads + h) * 32 + i], x1 * std::cos(a) - x2 * std::sin(a), 1e-5);
        EXPECT_NEAR(x[(t * heads + h) * 32 + i + half], x2 * std::cos(a) + x1 * std::sin(a), 1e-5);
      }
}

TEST(rmsnorm_and_swiglu) {
  auto x = randn(2 * 10, 3), w = randn(10, 4);
  std::vector<float> y(20);
  rmsnorm_rows(x.data(), w.data(), y.data(), 2, 10, 1e-5f);
  for (int r = 0; r < 2; ++r) {
    double ss = 0;
    for (int i = 0; i < 10; ++i) ss += static_cast<double>(x[r * 10 + i]) * x[r * 10 + i];
    for (int i = 0; i < 10; ++i) EXPECT_NEAR(y[r * 10 + i], w[i] * x[r * 10 + i] / std::sqrt(ss / 10 + 1e-5), 1e-5);
  }
  std::vector<float> g = {-3, 0, 2}, u = {1, 5, 0.5};
  swiglu(g.data(), u.data(), 3);
  EXPECT_NEAR(g[0], -3.0 / (1 + std::exp(3.0)), 1e-6);
  EXPECT_NEAR(g[1], 0.0, 0);
  EXPECT_NEAR(g[2], 0.5 * 2.0 / (1 + std::exp(-2.0)), 1e-6);
}

TEST(paged_attention_matches_contiguous_float64) {
  const int H = 4, KV = 2, hd = 16, bs = 4, nblocks = 32;
  const int64_t kvd = KV * hd;
  ThreadPool pool(3);
  std::vector<std::vector<float>> scratch;
  // Two sequences: 0 has 9 cached + 3 new tokens (chunked prefill), 1 has 13 cached + 1 new.
  ref::PagedSeqs ps(nblocks, bs, 2, 77);
  const int ctx0 = 12, ctx1 = 14;
  auto K0 = randn(ctx0 * kvd, 1), V0 = randn(ctx0 * kvd, 2), K1 = randn(ctx1 * kvd, 3), V1 = randn(ctx1 * kvd, 4);
  std::vector<float> kc(nblocks * bs * kvd, NAN), vc(nblocks * bs * kvd, NAN);  // unwritten slots poison
  auto write = [&](const llm::ForwardBatch& b, int t, const std::vector<float>& K, const std::vector<float>& V, int p) {
    std::memcpy(&kc[b.slot_mapping[t] * kvd], &K[p * kvd], kvd * 4);
    std::memcpy(&vc[b.slot_mapping[t] * kvd], &V[p * kvd], kvd * 4);
  };
  // Fill the cache through earlier steps' slot mappings.
  llm::ForwardBatch pre = ps.step({{0, std::vector<int32_t>(9, 1), true}, {1, std::vector<int32_t>(13, 1), true}});
  for (int t = 0; t < 9; ++t) write(pre, t, K0, V0, t);
  for (int t = 0; t < 13; ++t) write(pre, 9 + t, K1, V1, t);
  llm::ForwardBatch b = ps.step({{0, {1, 1, 1}, true}, {1, {1}, true}});
  for (int t = 0; t < 3; ++t) write(b, t, K0, V0, 9 + t);
  write(b, 3, K1, V1, 13);
  std::vector<int32_t> token_seq = {0, 0, 0, 1};
  auto q = randn(4 * H * hd, 9);
  std::vector<float> out(4 * H * hd);
  AttentionShape shape{H, KV, hd, 1.0f / std::sqrt(16.0f)};
  for (const Kernels* k : all_isas()) {
    paged_attention(b, token_seq, shape, KvLayerView{kc.data(), vc.data()}, q.data(), out.data(), *k, pool, scratch);
    for (int t = 0; t < 4; ++t) {
      const int pos = b.positions[t];
      const auto& K = t < 3 ? K0 : K1;
      const auto& V = t < 3 ? V0 : V1;
      for (int h = 0; h < H; ++h) {
        const int g = h / (H / KV);
        std::vector<double> s(pos + 1);
        double mx = -1e300, sum = 0;
        for (int p = 0; p <= pos; ++p) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += static_cast<double>(q[(t * H + h) * hd + i]) * K[p * kvd + g * hd + i];
          s[p] = d / 4.0;
          mx = std::max(mx, s[p]);
        }
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int i = 0; i < hd; ++i) {
          double o = 0;
          for (int p = 0; p <= pos; ++p) o += s[p] / sum * V[p * kvd + g * hd + i];
          EXPECT_NEAR(out[(t * H + h) * hd + i], o, 1e-5);
        }
      }
    }
  }
}

TEST(thread_pool_runs_every_index_and_is_reusable) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(1000, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) hits[i].fetch_add(1);
    });
    for (auto& h : hits) CHECK_EQ(h.load(), 1);
    std::atomic<int> calls{0};
    pool.run([&](int i, int n) {
      EXPECT(i >= 0 && i < n && n == 3);
      calls.fetch_add(1);
    });
    CHECK_EQ(calls.load(), 3);
  }
  ThreadPool one(1);
  int n = 0;
  one.parallel_for(5, [&](int64_t a, int64_t b) { n += static_cast<int>(b - a); });
  EXPECT_EQ(n, 5);
}
