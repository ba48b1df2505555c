// Constrained decoding (response_format json_object / json_schema): one sequence's grammar state,
// and which tokens may follow it. Ending tokens (EOS, stop ids) are allowed only once the
// grammar's value is complete.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "sampling/token_trie.h"

namespace llm {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Would appending `token` keep the output a prefix of a valid value?
  virtual bool allows(int32_t token, const std::vector<int32_t>& ending) const = 0;
  // Sets the logit of every token that allows() rejects to -inf. Returns false (and leaves the
  // logits as they were) when no allowed token has a logit above -inf.
  virtual bool mask(float* logits, const std::vector<int32_t>& ending) const = 0;
  // Advances over an appended token's bytes (an ending or special token changes nothing).
  virtual void accept(int32_t token) = 0;
  virtual bool complete() const = 0;
};

// A TokenConstraint over a byte-level recognizer: JsonRecognizer or JsonSchemaRecognizer (small,
// trivially copyable, with feed / complete / in_string_text).
template <class Recognizer>
class GrammarConstraint final : public TokenConstraint {
 public:
  // `keep_alive` holds whatever the recognizer points into (a compiled schema).
  GrammarConstraint(std::shared_ptr<const TokenTrie> trie, const Recognizer& start,
                    std::shared_ptr<const void> keep_alive = nullptr)
      : trie_(std::move(trie)), keep_alive_(std::move(keep_alive)), state_(start) {}

  bool allows(int32_t token, const std::vector<int32_t>& ending) const override {
    if (token < 0 || token >= trie_->vocab_size()) return false;
    if (std::find(ending.begin(), ending.end(), token) != ending.end()) return state_.complete();
    const std::string& b = trie_->bytes(token);
    if (b.empty()) return false;
    Recognizer probe = state_;
    return probe.feed(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }

  bool mask(float* logits, const std::vector<int32_t>& ending) const override {
    thread_local std::vector<uint8_t> allowed;  // one flag per token, reused by this thread
    allowed.assign(static_cast<size_t>(trie_->vocab_size()), 0);
    trie_->walk(
        state_, [](Recognizer& s, uint8_t byte) { return s.feed(byte); },
        [&](int32_t token) { allowed[static_cast<size_t>(token)] = 1; },
        [](const Recognizer& s) { return s.in_string_text(); });
    for (int32_t t : ending)  // by completeness, not by their text
      if (t >= 0 && t < trie_->vocab_size()) allowed[static_cast<size_t>(t)] = state_.complete() ? 1 : 0;
    const float neg_inf = -std::numeric_limits<float>::infinity();
    bool any = false;
    for (size_t t = 0; t < allowed.size() && !any; ++t) any = allowed[t] && logits[t] > neg_inf;
    if (!any) return false;
    for (size_t t = 0; t < allowed.size(); ++t)
      if (!allowed[t]) logits[t] = neg_inf;
    return true;
  }

  void accept(int32_t token) override {
    if (token < 0 || token >= trie_->vocab_size()) return;
    const std::string& b = trie_->bytes(token);
    state_.feed(reinterpret_cast<const uint8_t*>(b.data()), b.size());  // all or nothing
  }

  bool complete() const override { return state_.complete(); }

 private:
  std::shared_ptr<const TokenTrie> trie_;
  std::shared_ptr<const void> keep_alive_;
  Recognizer state_;
};

}  // namespace llm
