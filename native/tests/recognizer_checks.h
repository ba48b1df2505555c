// Byte-by-byte checks shared by the JSON recognizer tests (json_object and json_schema): feed a
// document to a recognizer (JsonRecognizer, JsonSchemaRecognizer) and report where it stops.
#pragma once

#include <cstring>
#include <string>

#include "testing.h"

namespace recognizer_checks {

// Feeds `doc` to `r` byte by byte; the index of the first rejected byte, or -1. A rejected byte
// must leave the state exactly as it was. `r` ends in the state after the last accepted byte.
template <class R>
int first_reject(R& r, const std::string& doc) {
  for (size_t i = 0; i < doc.size(); ++i) {
    const R before = r;
    if (!r.feed(static_cast<uint8_t>(doc[i]))) {
      EXPECT(std::memcmp(&before, &r, sizeof r) == 0);
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Every byte is accepted and the value is complete only after its last byte (so `doc` must not
// end in whitespace).
template <class R>
void expect_valid(R r, const std::string& doc) {
  for (size_t i = 0; i < doc.size(); ++i) {
    if (r.complete()) ::testing::report_failure(__FILE__, __LINE__, "complete early: " + doc);
    if (!r.feed(static_cast<uint8_t>(doc[i]))) {
      ::testing::report_failure(__FILE__, __LINE__, "rejected byte " + std::to_string(i) + " of: " + doc);
      return;
    }
  }
  if (!r.complete()) ::testing::report_failure(__FILE__, __LINE__, "not complete: " + doc);
}

template <class R>
void expect_reject_at(R r, const std::string& doc, int index) {
  const int got = first_reject(r, doc);
  if (got != index)
    ::testing::report_failure(__FILE__, __LINE__,
                              "first reject " + std::to_string(got) + ", want " + std::to_string(index) + " in: " + doc);
}

// Every byte accepted, and the value not complete after the last one.
template <class R>
void expect_incomplete(R r, const std::string& doc) {
  EXPECT_EQ(first_reject(r, doc), -1);
  EXPECT(!r.complete());
}

// In a string's text (in_string_text()), every printable ASCII byte but '"' and '\\' is accepted
// and leaves the state exactly as it is: the token trie walk takes such subtrees whole.
template <class R>
void expect_string_text_absorbs(const R& r) {
  CHECK(r.in_string_text());
  for (int b = 0x20; b < 0x7F; ++b) {
    if (b == '"' || b == '\\') continue;
    R t = r;
    CHECK(t.feed(static_cast<uint8_t>(b)));
    EXPECT(std::memcmp(&t, &r, sizeof r) == 0);
  }
}

}  // namespace recognizer_checks
