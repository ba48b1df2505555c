// The bytes each token id stands for, read from a Hugging Face tokenizer.json: what constrained
// decoding (OutputFormat::JsonObject) checks candidate tokens against.
#pragma once

#include <string>
#include <vector>

namespace llm {

// One entry per id below `vocab_size`. Byte-level BPE vocabularies (GPT-2 / Llama 3: "Ġ" for a
// space) are mapped back to raw bytes; SentencePiece ones (Llama 2: "▁" for a space, "<0x0A>"
// byte-fallback tokens) likewise. Special added tokens, ids missing from the file and tokens that
// cannot be mapped are empty: a constraint never picks them by their text. Throws llm::Error
// naming the file when it cannot be read or parsed.
std::vector<std::string> load_token_bytes(const std::string& tokenizer_json_path, int vocab_size);

// The same from tokenizer.json's text (`what` names it in errors).
std::vector<std::string> parse_token_bytes(const std::string& text, int vocab_size, const std::string& what);

}  // namespace llm
