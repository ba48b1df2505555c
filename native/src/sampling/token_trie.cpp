#include "sampling/token_trie.h"

#include <algorithm>

namespace llm {

TokenTrie::TokenTrie(std::vector<std::string> token_bytes) : bytes_(std::move(token_bytes)) {
  std::vector<int32_t> sorted;
  for (size_t id = 0; id < bytes_.size(); ++id)
    if (!bytes_[id].empty()) sorted.push_back(static_cast<int32_t>(id));
  std::sort(sorted.begin(), sorted.end(), [&](int32_t a, int32_t b) {
    return bytes_[static_cast<size_t>(a)] < bytes_[static_cast<size_t>(b)] ||
           (bytes_[static_cast<size_t>(a)] == bytes_[static_cast<size_t>(b)] && a < b);
  });
  nodes_.emplace_back();
  build(0, 0, sorted.size(), 0, sorted);
}

// sorted[lo, hi) share their first `depth` bytes, the path to `node`. Those exactly `depth` long
// end here (they sort first); the rest are grouped by their next byte into contiguous children.
void TokenTrie::build(int32_t node, size_t lo, size_t hi, size_t depth, const std::vector<int32_t>& sorted) {
  auto len = [&](size_t i) { return bytes_[static_cast<size_t>(sorted[i])].size(); };
  auto at = [&](size_t i) { return static_cast<uint8_t>(bytes_[static_cast<size_t>(sorted[i])][depth]); };
  max_depth_ = std::max(max_depth_, depth);
  nodes_[static_cast<size_t>(node)].first_token = static_cast<int32_t>(token_ids_.size());
  while (lo < hi && len(lo) == depth) token_ids_.push_back(sorted[lo++]);
  nodes_[static_cast<size_t>(node)].num_tokens =
      static_cast<int32_t>(token_ids_.size()) - nodes_[static_cast<size_t>(node)].first_token;
  std::vector<std::pair<size_t, size_t>> groups;
  for (size_t i = lo; i < hi;) {
    size_t j = i + 1;
    while (j < hi && at(j) == at(i)) ++j;
    groups.emplace_back(i, j);
    i = j;
  }
  const auto first = static_cast<int32_t>(nodes_.size());
  nodes_[static_cast<size_t>(node)].first_child = first;
  nodes_[static_cast<size_t>(node)].num_children = static_cast<int32_t>(groups.size());
  for (const auto& g : groups) {
    Node child;
    child.byte = at(g.first);
    nodes_.push_back(child);
  }
  bool plain = true;
  for (size_t k = 0; k < groups.size(); ++k) {
    const int32_t child = first + static_cast<int32_t>(k);
    build(child, groups[k].first, groups[k].second, depth + 1, sorted);
    const Node& c = nodes_[static_cast<size_t>(child)];
    plain = plain && is_plain_text(c.byte) && c.plain_subtree;
  }
  // Depth-first construction keeps a subtree's tokens contiguous in token_ids_.
  nodes_[static_cast<size_t>(node)].subtree_end = static_cast<int32_t>(token_ids_.size());
  nodes_[static_cast<size_t>(node)].plain_subtree = plain;
}

}  // namespace llm
