// Bookkeeping of the paged KV cache: which physical blocks are free, which sequence holds which
// blocks (ref-counted, so prefix-cached blocks can be shared), and the prefix cache: full blocks
// keyed by a hash chain (parent hash + the block's token ids; the chain starts from the request's
// cache salt). Free blocks that still hold a cached prefix stay findable until they are reused,
// least recently freed first. The backend owns the storage; this class owns the numbers.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sequence.h"

namespace llm {

class BlockManager {
 public:
  BlockManager(int num_blocks, int block_size, bool enable_prefix_caching);

  int num_blocks() const { return num_blocks_; }
  int block_size() const { return block_size_; }
  int num_free_blocks() const { return num_free_; }
  int num_used_blocks() const { return num_blocks_ - num_free_; }
  bool prefix_caching() const { return prefix_caching_; }
  int blocks_for_tokens(int num_tokens) const { return (num_tokens + block_size_ - 1) / block_size_; }

  // Prefix-cache lookup for a sequence that holds no blocks: the leading cached blocks of its
  // tokens, leaving at least its last token to compute. Counts queries and hits (in blocks).
  std::vector<int32_t> find_cached_prefix(Sequence& seq);

  // Whether `num_new_tokens` more tokens fit, given the cached prefix blocks it would take.
  bool can_allocate(const Sequence& seq, int num_new_tokens,
                    const std::vector<int32_t>& cached_prefix = {}) const;

  // Gives `seq` blocks for num_computed + (cached prefix) + num_new_tokens tokens. On first
  // allocation `cached_prefix` (from find_cached_prefix) is taken over and the sequence's
  // computed count jumps past it. Returns false, changing nothing, when blocks run out.
  bool allocate(Sequence& seq, int num_new_tokens, const std::vector<int32_t>& cached_prefix = {});

  // Registers the sequence's newly completed full blocks in the prefix cache.
  void cache_full_blocks(Sequence& seq);

  // Releases every block of `seq` (cached ones stay findable until reused). Idempotent.
  void free(Sequence& seq);

  int64_t prefix_queries() const { return queries_; }
  int64_t prefix_hits() const { return hits_; }
  int ref_count(int32_t block) const { return blocks_[block].ref_count; }

  // Hash of one full block given its parent's hash (or the salt root for the first block).
  static uint64_t hash_block(uint64_t parent, const int32_t* tokens, int n);
  static uint64_t salt_root(const std::string& cache_salt);

 private:
  struct Block {
    int ref_count = 0;
    uint64_t hash = 0;  // 0: not in the prefix cache
    bool cached = false;
    uint64_t parent = 0;
    std::vector<int32_t> tokens;  // copy of the block's tokens, to rule out hash collisions
    int32_t prev = -1, next = -1;  // free list links
    bool in_free_list = false;
  };

  void extend_hashes(Sequence& seq, int num_full_blocks) const;
  void free_list_remove(int32_t b);
  void free_list_push_back(int32_t b);
  int32_t free_list_pop_front();
  void uncache(int32_t b);

  int num_blocks_;
  int block_size_;
  bool prefix_caching_;
  std::vector<Block> blocks_;
  int32_t head_ = -1, tail_ = -1;  // LRU free list: evict from the head
  int num_free_ = 0;
  std::unordered_map<uint64_t, int32_t> cache_;
  int64_t queries_ = 0;
  int64_t hits_ = 0;
};

}  // namespace llm
