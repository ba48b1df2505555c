// guided_choice: the recognizer accepts exactly the prefixes of the choices, completes on a whole
// choice (also one that is a prefix of another), and the set rejects bad lists.
#include "llm/error.h"
#include "recognizer_checks.h"
#include "sampling/choice_recognizer.h"
#include "testing.h"

using namespace llm;
using recognizer_checks::expect_incomplete;
using recognizer_checks::expect_reject_at;
using recognizer_checks::expect_valid;

TEST(whole_choices_complete_and_prefixes_do_not) {
  auto set = ChoiceSet::make({"positive", "negative", "neutral", "pos", "\xc3\xa9t\xc3\xa9"});
  const ChoiceRecognizer start(set.get());
  // ("positive" is complete early, at "pos": below.)
  for (const char* c : {"negative", "neutral", "\xc3\xa9t\xc3\xa9", "pos"}) expect_valid(start, c);
  expect_incomplete(start, "neu");
  expect_incomplete(start, "ne");
  expect_incomplete(start, "\xc3");
  // "pos" is whole and may still grow into "positive".
  ChoiceRecognizer r = start;
  CHECK(r.feed(reinterpret_cast<const uint8_t*>("pos"), 3));
  EXPECT(r.complete());
  CHECK(r.feed(static_cast<uint8_t>('i')));
  EXPECT(!r.complete());
  CHECK(r.feed(reinterpret_cast<const uint8_t*>("tive"), 4));
  EXPECT(r.complete());
  EXPECT(!r.feed(static_cast<uint8_t>('s')));
}

TEST(other_bytes_are_rejected_where_they_leave_every_choice) {
  auto set = ChoiceSet::make({"yes", "no", "maybe"});
  const ChoiceRecognizer start(set.get());
  expect_reject_at(start, "yep", 2);
  expect_reject_at(start, "nope", 2);  // "no" is whole: nothing follows it
  expect_reject_at(start, " yes", 0);
  expect_reject_at(start, "Yes", 0);
  expect_reject_at(start, "maybe!", 5);
}

TEST(feed_is_all_or_nothing) {
  auto set = ChoiceSet::make({"alpha", "beta"});
  ChoiceRecognizer r(set.get());
  CHECK(r.feed(static_cast<uint8_t>('a')));
  EXPECT(!r.feed(reinterpret_cast<const uint8_t*>("lpx"), 3));
  EXPECT(r.feed(reinterpret_cast<const uint8_t*>("lpha"), 4));  // the failed chunk left no trace
  EXPECT(r.complete());
}

TEST(duplicates_collapse_and_bad_lists_are_refused) {
  auto set = ChoiceSet::make({"b", "a", "b"});
  EXPECT_EQ(set->sorted().size(), size_t{2});
  EXPECT_THROWS(ChoiceSet::make({}), "at least one choice");
  EXPECT_THROWS(ChoiceSet::make({"a", ""}), "empty string");
}
