// Checks of the test harness itself and of the small public helpers.
#include "llm/engine.h"
#include "testing.h"

TEST(finish_reason_names) {
  EXPECT_EQ(std::string(llm::finish_reason_name(llm::FinishReason::Stop)), "stop");
  EXPECT_EQ(std::string(llm::finish_reason_name(llm::FinishReason::Length)), "length");
  EXPECT_EQ(std::string(llm::finish_reason_name(llm::FinishReason::Abort)), "abort");
  EXPECT_EQ(std::string(llm::finish_reason_name(llm::FinishReason::Error)), "error");
}

TEST(expect_throws_checks_the_message) {
  EXPECT_THROWS(throw llm::Error("prompt is empty"), "empty");
}
