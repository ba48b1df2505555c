// config.json -> ModelConfig. Unsupported architectures and options are rejected with an
// llm::Error naming the file and the field.
#pragma once

#include <string>

#include "model/model_config.h"

namespace llm {

ModelConfig parse_model_config(const std::string& text, const std::string& file);

// Reads a whole file; llm::Error naming it when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace llm
