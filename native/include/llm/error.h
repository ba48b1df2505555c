// The one exception type of the engine. The N-API layer turns it into a JS Error; nothing in the
// engine aborts the process.
#pragma once

#include <stdexcept>
#include <string>

namespace llm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace llm
