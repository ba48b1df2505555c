// The vocabulary's token bytes as a trie, so a constraint can test every token in one walk:
// tokens that share a prefix share its work, and a rejected prefix prunes all tokens under it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llm {

class TokenTrie {
 public:
  // token_bytes[id]: the bytes of token id; empty ones (special tokens) are left out of the trie.
  explicit TokenTrie(std::vector<std::string> token_bytes);

  int vocab_size() const { return static_cast<int>(bytes_.size()); }
  const std::string& bytes(int32_t token) const { return bytes_[static_cast<size_t>(token)]; }
  size_t num_nodes() const { return nodes_.size(); }

  // Printable ASCII other than '"' and '\\': the bytes that leave a JSON string's state as it is.
  static bool is_plain_text(uint8_t b) { return b >= 0x20 && b < 0x80 && b != '"' && b != '\\'; }

  // Depth first from `root`: a child is entered when feed(state copy, byte) returns true, and
  // visit(token) is called for every token whose bytes were all accepted on the way. When
  // absorbs_text(state) says a state accepts every plain-text byte and stays as it is, a subtree
  // of plain-text bytes below it is visited whole without feeding its bytes (inside a JSON string
  // that is nearly the whole vocabulary).
  template <class State, class Feed, class Visit, class AbsorbsText>
  void walk(const State& root, Feed&& feed, Visit&& visit, AbsorbsText&& absorbs_text) const {
    // One state per depth, overwritten as the walk goes: a grammar state can be a few hundred
    // bytes (a JSON Schema stack), so it is copied once per edge tried and never moved around.
    std::vector<State> states(max_depth_ + 1, root);
    walk_from(0, 0, states, feed, visit, absorbs_text);
  }

 private:
  struct Node {
    int32_t first_child = 0;
    int32_t num_children = 0;
    int32_t first_token = 0;  // into token_ids_: the tokens whose bytes end here, then the subtree's
    int32_t num_tokens = 0;
    int32_t subtree_end = 0;  // token_ids_[first_token, subtree_end): every token at or below here
    uint8_t byte = 0;         // the edge from the parent
    bool plain_subtree = false;  // every edge below here is a plain-text byte
  };
  void build(int32_t node, size_t lo, size_t hi, size_t depth, const std::vector<int32_t>& sorted);

  template <class State, class Feed, class Visit, class AbsorbsText>
  void walk_from(int32_t node, size_t depth, std::vector<State>& states, Feed& feed, Visit& visit,
                 AbsorbsText& absorbs_text) const {
    const Node& n = nodes_[static_cast<size_t>(node)];
    const State& here = states[depth];
    if (n.plain_subtree && absorbs_text(here)) {
      for (int32_t i = n.first_token; i < n.subtree_end; ++i) visit(token_ids_[static_cast<size_t>(i)]);
      return;
    }
    for (int32_t i = 0; i < n.num_tokens; ++i) visit(token_ids_[static_cast<size_t>(n.first_token + i)]);
    for (int32_t c = n.first_child; c < n.first_child + n.num_children; ++c) {
      State& next = states[depth + 1];
      next = here;
      if (feed(next, nodes_[static_cast<size_t>(c)].byte)) walk_from(c, depth + 1, states, feed, visit, absorbs_text);
    }
  }

  std::vector<std::string> bytes_;
  std::vector<Node> nodes_;  // [0] is the root; a node's children are contiguous
  size_t max_depth_ = 0;     // the longest token, in bytes
  std::vector<int32_t> token_ids_;
};

}  // namespace llm
