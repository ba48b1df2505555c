// guided_choice (vLLM's extension): the output is exactly one of a list of strings. The
// recognizer narrows the sorted choices as bytes arrive, as the JSON recognizers do for text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace llm {

// The choices, sorted and without duplicates (shared by the sequences of a request).
class ChoiceSet {
 public:
  // Throws llm::Error when the list is empty, holds an empty string or more than 65,535 choices.
  static std::shared_ptr<const ChoiceSet> make(std::vector<std::string> choices);
  const std::vector<std::string>& sorted() const { return sorted_; }

 private:
  std::vector<std::string> sorted_;
};

// Same contract as JsonRecognizer: feed() keeps a byte only when the text so far is still a
// prefix of some choice; complete() once it equals one (it may still grow into a longer one).
class ChoiceRecognizer {
 public:
  explicit ChoiceRecognizer(const ChoiceSet* set);
  bool feed(uint8_t byte);
  bool feed(const uint8_t* bytes, size_t n);
  bool complete() const;
  bool in_string_text() const { return false; }  // every byte narrows the candidates

 private:
  const ChoiceSet* set_;
  uint32_t lo_ = 0, hi_ = 0;  // sorted()[lo_, hi_): the choices that start with the text so far
  uint32_t pos_ = 0;          // bytes matched
};

static_assert(std::is_trivially_copyable<ChoiceRecognizer>::value, "copied for every candidate token");

}  // namespace llm
