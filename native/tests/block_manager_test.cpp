// BlockManager: allocation, ref counts, prefix cache hash chain (with salt), LRU reuse, no leaks.
#include <memory>

#include "core/block_manager.h"
#include "testing.h"

using llm::BlockManager;
using llm::Sequence;

static std::unique_ptr<Sequence> make_seq(const std::string& id, std::vector<int32_t> tokens,
                                          const std::string& salt = "") {
  auto s = std::make_unique<Sequence>();
  s->id = id;
  s->tokens = std::move(tokens);
  s->num_prompt_tokens = s->num_tokens();
  s->cache_salt = salt;
  return s;
}

static std::vector<int32_t> range(int n, int start = 0) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i);
  return v;
}

// Simulates the engine: allocate, compute everything, register full blocks.
static void prefill(BlockManager& bm, Sequence& s) {
  auto cached = bm.find_cached_prefix(s);
  const int computed = static_cast<int>(cached.size()) * bm.block_size();
  CHECK(bm.allocate(s, s.num_tokens() - computed, cached));
  s.num_computed_tokens = s.num_tokens();
  bm.cache_full_blocks(s);
}

TEST(allocates_whole_blocks_and_frees_them) {
  BlockManager bm(10, 4, true);
  auto s = make_seq("a", range(9));
  CHECK(bm.allocate(*s, 9));
  EXPECT_EQ(s->block_table.size(), size_t{3});
  EXPECT_EQ(bm.num_free_blocks(), 7);
  s->num_computed_tokens = 9;
  // Decode: positions 9..11 fit in block 3; position 12 needs a 4th block.
  s->tokens.push_back(100);
  CHECK(bm.allocate(*s, 1));
  EXPECT_EQ(s->block_table.size(), size_t{3});
  s->num_computed_tokens = 12;
  s->tokens.push_back(101);
  s->tokens.push_back(102);
  s->tokens.push_back(103);
  CHECK(bm.allocate(*s, 1));
  EXPECT_EQ(s->block_table.size(), size_t{4});
  bm.free(*s);
  EXPECT_EQ(bm.num_free_blocks(), 10);
  EXPECT(s->block_table.empty());
  bm.free(*s);  // idempotent
  EXPECT_EQ(bm.num_free_blocks(), 10);
}

TEST(refuses_when_out_of_blocks_without_side_effects) {
  BlockManager bm(2, 4, false);
  auto s = make_seq("a", range(12));
  EXPECT(!bm.can_allocate(*s, 12));
  EXPECT(!bm.allocate(*s, 12));
  EXPECT(s->block_table.empty());
  EXPECT_EQ(bm.num_free_blocks(), 2);
  EXPECT(bm.allocate(*s, 8));  // a chunk that fits
  EXPECT_EQ(bm.num_free_blocks(), 0);
  bm.free(*s);
  EXPECT_EQ(bm.num_free_blocks(), 2);
}

TEST(prefix_cache_hits_full_blocks_and_shares_them) {
  BlockManager bm(16, 4, true);
  auto a = make_seq("a", range(10));  // 2 full blocks + 2 tokens
  prefill(bm, *a);
  EXPECT_EQ(bm.prefix_queries(), 2);  // (10-1)/4 = 2 blocks looked up
  EXPECT_EQ(bm.prefix_hits(), 0);

  auto b = make_seq("b", range(11));  // same first 8 tokens
  auto cached = bm.find_cached_prefix(*b);
  CHECK_EQ(cached.size(), size_t{2});
  EXPECT_EQ(cached[0], a->block_table[0]);
  EXPECT_EQ(cached[1], a->block_table[1]);
  EXPECT_EQ(bm.prefix_hits(), 2);
  CHECK(bm.allocate(*b, 3, cached));
  EXPECT_EQ(b->num_computed_tokens, 8);
  EXPECT_EQ(bm.ref_count(cached[0]), 2);
  EXPECT(b->block_table[2] != a->block_table[2]);  // the partial block is private
  bm.free(*a);
  EXPECT_EQ(bm.ref_count(cached[0]), 1);
  bm.free(*b);
  EXPECT_EQ(bm.num_free_blocks(), 16);
}

TEST(never_caches_the_whole_prompt) {
  BlockManager bm(16, 4, true);
  auto a = make_seq("a", range(8));
  prefill(bm, *a);
  bm.free(*a);
  auto b = make_seq("b", range(8));  // identical, exactly 2 full blocks
  auto cached = bm.find_cached_prefix(*b);
  EXPECT_EQ(cached.size(), size_t{1});  // the last token must be computed for its logits
}

TEST(hash_chain_depends_on_parent_and_salt) {
  BlockManager bm(32, 4, true);
  auto a = make_seq("a", range(9));
  prefill(bm, *a);
  // Same second block, different first block: no hit for the second either.
  std::vector<int32_t> t = range(9);
  t[0] = 50;
  auto b = make_seq("b", t);
  EXPECT_EQ(bm.find_cached_prefix(*b).size(), size_t{0});
  // Same tokens, other tenant salt: isolated.
  auto c = make_seq("c", range(9), "tenant-2");
  EXPECT_EQ(bm.find_cached_prefix(*c).size(), size_t{0});
  auto d = make_seq("d", range(9));
  EXPECT_EQ(bm.find_cached_prefix(*d).size(), size_t{2});
  EXPECT(BlockManager::salt_root("x") != BlockManager::salt_root("y"));
  bm.free(*a);
}

TEST(freed_cached_blocks_stay_findable_until_reused_lru) {
  BlockManager bm(4, 4, true);
  auto a = make_seq("a", range(9));  // 3 blocks, 2 full + cached
  prefill(bm, *a);
  bm.free(*a);
  EXPECT_EQ(bm.num_free_blocks(), 4);
  auto b = make_seq("b", range(9));
  EXPECT_EQ(bm.find_cached_prefix(*b).size(), size_t{2});  // still there after free
  // Another sequence takes 2 blocks: the LRU order gives the never-used block and a's tail
  // block (freed first) before a's cached prefix.
  auto c = make_seq("c", range(8, 1000));
  CHECK(bm.allocate(*c, 8));
  EXPECT_EQ(bm.find_cached_prefix(*b).size(), size_t{2});
  // Two more blocks: now the cached prefix must be reused, and the hits disappear.
  auto d = make_seq("d", range(8, 2000));
  CHECK(bm.allocate(*d, 8));
  EXPECT_EQ(bm.find_cached_prefix(*b).size(), size_t{0});
  bm.free(*c);
  bm.free(*d);
  EXPECT_EQ(bm.num_free_blocks(), 4);
}

TEST(reviving_a_free_cached_block_counts_against_free_space) {
  BlockManager bm(3, 4, true);
  auto a = make_seq("a", range(9));
  prefill(bm, *a);  // 3 blocks
  bm.free(*a);
  auto b = make_seq("b", range(13));  // hits 2 blocks, needs 2 more tokens' block + 1 -> 4 blocks total
  auto cached = bm.find_cached_prefix(*b);
  CHECK_EQ(cached.size(), size_t{2});
  EXPECT(!bm.can_allocate(*b, 5, cached));  // 2 revived + 2 new > 3
  EXPECT(bm.can_allocate(*b, 4, cached));   // 2 revived + 1 new
  CHECK(bm.allocate(*b, 4, cached));
  EXPECT_EQ(bm.num_free_blocks(), 0);
  bm.free(*b);
  EXPECT_EQ(bm.num_free_blocks(), 3);
}

TEST(disabled_prefix_caching_never_hits) {
  BlockManager bm(16, 4, false);
  auto a = make_seq("a", range(10));
  prefill(bm, *a);
  auto b = make_seq("b", range(10));
  EXPECT_EQ(bm.find_cached_prefix(*b).size(), size_t{0});
  EXPECT_EQ(bm.prefix_queries(), 0);
  bm.free(*a);
}

TEST(duplicate_content_in_two_live_sequences) {
  BlockManager bm(16, 4, true);
  auto a = make_seq("a", range(9));
  auto b = make_seq("b", range(9));
  // Both admitted in the same step (no hit for b yet), both register: no crash, one cache entry.
  CHECK(bm.allocate(*a, 9));
  CHECK(bm.allocate(*b, 9));
  a->num_computed_tokens = b->num_computed_tokens = 9;
  bm.cache_full_blocks(*a);
  bm.cache_full_blocks(*b);
  bm.free(*a);
  auto c = make_seq("c", range(9));
  EXPECT_EQ(bm.find_cached_prefix(*c).size(), size_t{2});
  bm.free(*b);
  EXPECT_EQ(bm.num_free_blocks(), 16);
}

TEST(bad_construction_throws) {
  EXPECT_THROWS(BlockManager(0, 16, true), "at least one block");
  EXPECT_THROWS(BlockManager(4, 0, true), "block size");
}
