#include "sampling/json_constraint.h"

#include <algorithm>
#include <limits>

namespace llm {

namespace {
bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

bool JsonConstraint::allows(int32_t token, const std::vector<int32_t>& ending) const {
  if (token < 0 || token >= trie_->vocab_size()) return false;
  if (contains(ending, token)) return json_.complete();
  const std::string& b = trie_->bytes(token);
  if (b.empty()) return false;
  JsonRecognizer probe = json_;
  return probe.feed(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

bool JsonConstraint::mask(float* logits, const std::vector<int32_t>& ending) const {
  // One flag per token, reused by this thread across steps.
  thread_local std::vector<uint8_t> allowed;
  allowed.assign(static_cast<size_t>(trie_->vocab_size()), 0);
  trie_->walk(
      json_, [](JsonRecognizer& s, uint8_t byte) { return s.feed(byte); },
      [&](int32_t token) { allowed[static_cast<size_t>(token)] = 1; },
      [](const JsonRecognizer& s) { return s.in_string_text(); });
  for (int32_t t : ending)  // by completeness, not by their text
    if (t >= 0 && t < trie_->vocab_size()) allowed[static_cast<size_t>(t)] = json_.complete() ? 1 : 0;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  bool any = false;
  for (size_t t = 0; t < allowed.size() && !any; ++t) any = allowed[t] && logits[t] > neg_inf;
  if (!any) return false;
  for (size_t t = 0; t < allowed.size(); ++t)
    if (!allowed[t]) logits[t] = neg_inf;
  return true;
}

void JsonConstraint::accept(int32_t token) {
  if (token < 0 || token >= trie_->vocab_size()) return;
  const std::string& b = trie_->bytes(token);
  json_.feed(reinterpret_cast<const uint8_t*>(b.data()), b.size());  // all or nothing
}

}  // namespace llm
