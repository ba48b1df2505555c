#include "sampling/choice_recognizer.h"

#include <algorithm>

#include "llm/error.h"

namespace llm {

std::shared_ptr<const ChoiceSet> ChoiceSet::make(std::vector<std::string> choices) {
  if (choices.empty()) throw Error("guided_choice must hold at least one choice");
  if (choices.size() > 65535) throw Error("guided_choice may hold at most 65535 choices");
  for (const std::string& c : choices)
    if (c.empty()) throw Error("guided_choice must not hold an empty string");
  std::sort(choices.begin(), choices.end());
  choices.erase(std::unique(choices.begin(), choices.end()), choices.end());
  auto set = std::make_shared<ChoiceSet>();
  set->sorted_ = std::move(choices);
  return set;
}

ChoiceRecognizer::ChoiceRecognizer(const ChoiceSet* set)
    : set_(set), hi_(static_cast<uint32_t>(set->sorted().size())) {}

bool ChoiceRecognizer::feed(uint8_t byte) {
  // The candidates share their first pos_ bytes and are sorted, so those whose next byte is
  // `byte` form one run; a candidate that already ended (length pos_) sorts first and drops out.
  const auto& all = set_->sorted();
  const auto first = all.begin() + lo_, last = all.begin() + hi_;
  const auto below = [&](const std::string& s, uint8_t b) {
    return s.size() <= pos_ || static_cast<uint8_t>(s[pos_]) < b;
  };
  const auto above = [&](uint8_t b, const std::string& s) {
    return s.size() > pos_ && b < static_cast<uint8_t>(s[pos_]);
  };
  const auto from = std::lower_bound(first, last, byte, below);
  const auto to = std::upper_bound(from, last, byte, above);
  if (from == to) return false;
  lo_ = static_cast<uint32_t>(from - all.begin());
  hi_ = static_cast<uint32_t>(to - all.begin());
  ++pos_;
  return true;
}

bool ChoiceRecognizer::feed(const uint8_t* bytes, size_t n) {
  ChoiceRecognizer next = *this;
  for (size_t i = 0; i < n; ++i)
    if (!next.feed(bytes[i])) return false;
  *this = next;
  return true;
}

bool ChoiceRecognizer::complete() const { return lo_ < hi_ && set_->sorted()[lo_].size() == pos_; }

}  // namespace llm
