#include "core/block_manager.h"

#include <algorithm>
#include <cstring>

#include "llm/error.h"

namespace llm {

namespace {
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
}  // namespace

BlockManager::BlockManager(int num_blocks, int block_size, bool enable_prefix_caching)
    : num_blocks_(num_blocks), block_size_(block_size), prefix_caching_(enable_prefix_caching) {
  if (num_blocks <= 0) throw Error("KV cache needs at least one block");
  if (block_size <= 0) throw Error("block size must be positive");
  blocks_.resize(static_cast<size_t>(num_blocks));
  for (int32_t b = 0; b < num_blocks; ++b) free_list_push_back(b);
}

uint64_t BlockManager::salt_root(const std::string& cache_salt) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : cache_salt) h = (h ^ c) * 0x100000001b3ULL;
  return mix(h ^ cache_salt.size());
}

uint64_t BlockManager::hash_block(uint64_t parent, const int32_t* tokens, int n) {
  uint64_t h = mix(parent + 0x9e3779b97f4a7c15ULL);
  for (int i = 0; i < n; ++i) h = mix(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(tokens[i])) + (h << 6)));
  return h == 0 ? 1 : h;  // 0 means "no hash"
}

void BlockManager::extend_hashes(Sequence& seq, int num_full_blocks) const {
  while (static_cast<int>(seq.block_hashes.size()) < num_full_blocks) {
    const size_t i = seq.block_hashes.size();
    const uint64_t parent = i == 0 ? salt_root(seq.cache_salt) : seq.block_hashes[i - 1];
    seq.block_hashes.push_back(hash_block(parent, seq.tokens.data() + i * block_size_, block_size_));
  }
}

std::vector<int32_t> BlockManager::find_cached_prefix(Sequence& seq) {
  std::vector<int32_t> found;
  if (!prefix_caching_ || !seq.block_table.empty()) return found;
  const int max_blocks = (seq.num_tokens() - 1) / block_size_;
  extend_hashes(seq, max_blocks);
  queries_ += max_blocks;
  for (int i = 0; i < max_blocks; ++i) {
    auto it = cache_.find(seq.block_hashes[i]);
    if (it == cache_.end()) break;
    const Block& blk = blocks_[it->second];
    const uint64_t parent = i == 0 ? salt_root(seq.cache_salt) : seq.block_hashes[i - 1];
    if (blk.parent != parent ||
        !std::equal(blk.tokens.begin(), blk.tokens.end(), seq.tokens.begin() + i * block_size_))
      break;
    found.push_back(it->second);
  }
  hits_ += static_cast<int64_t>(found.size());
  return found;
}

bool BlockManager::can_allocate(const Sequence& seq, int num_new_tokens,
                                const std::vector<int32_t>& cached_prefix) const {
  const int computed = seq.block_table.empty()
                           ? static_cast<int>(cached_prefix.size()) * block_size_
                           : seq.num_computed_tokens;
  const int held = seq.block_table.empty() ? static_cast<int>(cached_prefix.size())
                                           : static_cast<int>(seq.block_table.size());
  const int needed = std::max(0, blocks_for_tokens(computed + num_new_tokens) - held);
  int revived = 0;  // cached prefix blocks that sit in the free list now
  if (seq.block_table.empty())
    for (int32_t b : cached_prefix) revived += blocks_[b].ref_count == 0 ? 1 : 0;
  return num_free_ - revived >= needed;
}

bool BlockManager::allocate(Sequence& seq, int num_new_tokens,
                            const std::vector<int32_t>& cached_prefix) {
  if (!can_allocate(seq, num_new_tokens, cached_prefix)) return false;
  if (seq.block_table.empty() && !cached_prefix.empty()) {
    for (int32_t b : cached_prefix) {
      Block& blk = blocks_[b];
      if (blk.ref_count++ == 0) free_list_remove(b);
      seq.block_table.push_back(b);
    }
    seq.num_computed_tokens = static_cast<int>(cached_prefix.size()) * block_size_;
    seq.num_cached_blocks = static_cast<int>(cached_prefix.size());
  }
  const int needed = blocks_for_tokens(seq.num_computed_tokens + num_new_tokens);
  while (static_cast<int>(seq.block_table.size()) < needed) {
    const int32_t b = free_list_pop_front();
    uncache(b);
    blocks_[b].ref_count = 1;
    seq.block_table.push_back(b);
  }
  return true;
}

void BlockManager::cache_full_blocks(Sequence& seq) {
  if (!prefix_caching_) return;
  const int full = std::min(seq.num_computed_tokens / block_size_, static_cast<int>(seq.block_table.size()));
  if (full <= seq.num_cached_blocks) return;
  extend_hashes(seq, full);
  for (int i = seq.num_cached_blocks; i < full; ++i) {
    const int32_t b = seq.block_table[i];
    Block& blk = blocks_[b];
    if (blk.cached) continue;
    const uint64_t h = seq.block_hashes[i];
    if (cache_.count(h)) continue;  // the same content is cached in another block
    blk.cached = true;
    blk.hash = h;
    blk.parent = i == 0 ? salt_root(seq.cache_salt) : seq.block_hashes[i - 1];
    blk.tokens.assign(seq.tokens.begin() + i * block_size_, seq.tokens.begin() + (i + 1) * block_size_);
    cache_[h] = b;
  }
  seq.num_cached_blocks = full;
}

void BlockManager::free(Sequence& seq) {
  // Tail blocks first into the LRU, so a sequence's last blocks are evicted before its prefix.
  for (auto it = seq.block_table.rbegin(); it != seq.block_table.rend(); ++it) {
    Block& blk = blocks_[*it];
    if (blk.ref_count <= 0) throw Error("BlockManager: double free of block " + std::to_string(*it));
    if (--blk.ref_count == 0) free_list_push_back(*it);
  }
  seq.block_table.clear();
  seq.num_computed_tokens = 0;
  seq.num_cached_blocks = 0;
}

void BlockManager::uncache(int32_t b) {
  Block& blk = blocks_[b];
  if (!blk.cached) return;
  auto it = cache_.find(blk.hash);
  if (it != cache_.end() && it->second == b) cache_.erase(it);
  blk.cached = false;
  blk.hash = 0;
  blk.tokens.clear();
}

void BlockManager::free_list_remove(int32_t b) {
  Block& blk = blocks_[b];
  if (!blk.in_free_list) return;
  if (blk.prev >= 0) blocks_[blk.prev].next = blk.next; else head_ = blk.next;
  if (blk.next >= 0) blocks_[blk.next].prev = blk.prev; else tail_ = blk.prev;
  blk.prev = blk.next = -1;
  blk.in_free_list = false;
  --num_free_;
}

void BlockManager::free_list_push_back(int32_t b) {
  Block& blk = blocks_[b];
  blk.prev = tail_;
  blk.next = -1;
  if (tail_ >= 0) blocks_[tail_].next = b; else head_ = b;
  tail_ = b;
  blk.in_free_list = true;
  ++num_free_;
}

int32_t BlockManager::free_list_pop_front() {
  const int32_t b = head_;
  if (b < 0) throw Error("BlockManager: out of blocks");
  free_list_remove(b);
  return b;
}

}  // namespace llm
