// Constrained decoding for OutputFormat::JsonObject: one sequence's JSON state, and which tokens
// may follow it. Ending tokens (EOS, stop ids) are allowed only once the object is complete.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sampling/json_recognizer.h"
#include "sampling/token_trie.h"

namespace llm {

class JsonConstraint {
 public:
  explicit JsonConstraint(std::shared_ptr<const TokenTrie> trie) : trie_(std::move(trie)) {}

  // Would appending `token` keep the output a prefix of one JSON object?
  bool allows(int32_t token, const std::vector<int32_t>& ending) const;

  // Sets the logit of every token that allows() rejects to -inf. Returns false (and leaves the
  // logits as they were) when no allowed token has a logit above -inf.
  bool mask(float* logits, const std::vector<int32_t>& ending) const;

  // Advances over an appended token's bytes (an ending or special token changes nothing).
  void accept(int32_t token);

  bool complete() const { return json_.complete(); }

 private:
  std::shared_ptr<const TokenTrie> trie_;
  JsonRecognizer json_;
};

}  // namespace llm
