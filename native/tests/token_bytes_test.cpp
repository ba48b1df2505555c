// token_bytes: tokenizer.json -> the bytes of every token id, for byte-level BPE (Llama 3),
// SentencePiece BPE with byte fallback (Llama 2) and Unigram vocabularies.
#include "llm/error.h"
#include "model/token_bytes.h"
#include "testing.h"

using namespace llm;

TEST(byte_level_vocabulary_maps_back_to_raw_bytes) {
  // "Ġ" is the space, "Ċ" the newline, "Ã©" the two bytes of "é" (C3 A9).
  const std::string text = R"({
    "added_tokens": [
      {"id": 5, "content": "<|eot_id|>", "special": true},
      {"id": 6, "content": "<tool>", "special": false}
    ],
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split"}, {"type": "ByteLevel"}]},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"{": 0, "Ġ\"": 1, "ĊĊ": 2, "Ã©": 3, "\u0100": 4, "<|eot_id|>": 5}}
  })";
  const auto b = parse_token_bytes(text, 8, "tok.json");
  CHECK_EQ(b.size(), size_t{8});
  EXPECT_EQ(b[0], std::string("{"));
  EXPECT_EQ(b[1], std::string(" \""));
  EXPECT_EQ(b[2], std::string("\n\n"));
  EXPECT_EQ(b[3], std::string("\xc3\xa9"));
  EXPECT_EQ(b[4], std::string(1, '\0'));  // U+0100 stands for byte 0
  EXPECT_EQ(b[5], std::string());         // special: never picked by its text
  EXPECT_EQ(b[6], std::string("<tool>"));  // a non-special added token is plain text
  EXPECT_EQ(b[7], std::string());         // ids the file does not name
}

TEST(sentencepiece_vocabulary_maps_spaces_and_byte_fallback) {
  const std::string text = R"({
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace"}, {"type": "ByteFallback"}]},
    "model": {"type": "BPE", "vocab": {"<s>": 0, "<0x0A>": 1, "▁{": 2, "▁▁": 3, "ab": 4, "<0xZZ>": 5}},
    "added_tokens": [{"id": 0, "content": "<s>", "special": true}]
  })";
  const auto b = parse_token_bytes(text, 6, "sp.json");
  EXPECT_EQ(b[0], std::string());
  EXPECT_EQ(b[1], std::string("\n"));
  EXPECT_EQ(b[2], std::string(" {"));
  EXPECT_EQ(b[3], std::string("  "));
  EXPECT_EQ(b[4], std::string("ab"));
  EXPECT_EQ(b[5], std::string("<0xZZ>"));  // not a byte token: its text
}

TEST(unigram_vocabulary_is_indexed_by_position) {
  const std::string text = R"({"model": {"type": "Unigram", "vocab": [["<unk>", 0], ["▁x", -1.5], ["y", -2]]}})";
  const auto b = parse_token_bytes(text, 3, "u.json");
  EXPECT_EQ(b[1], std::string(" x"));
  EXPECT_EQ(b[2], std::string("y"));
}

TEST(unmappable_byte_level_tokens_are_left_out) {
  // "€" (U+20AC) is not in GPT-2's byte alphabet: such a token cannot be mapped.
  const std::string text =
      R"({"decoder": {"type": "ByteLevel"}, "model": {"vocab": {"€": 0, "a": 1}}})";
  const auto b = parse_token_bytes(text, 2, "x.json");
  EXPECT_EQ(b[0], std::string());
  EXPECT_EQ(b[1], std::string("a"));
}

TEST(errors_name_the_file) {
  EXPECT_THROWS(parse_token_bytes(R"({"model": {}})", 4, "bad.json"), "bad.json: model.vocab is missing");
  EXPECT_THROWS(parse_token_bytes("{", 4, "broken.json"), "broken.json");
  EXPECT_THROWS(load_token_bytes("/nonexistent/tokenizer.json", 4), "/nonexistent/tokenizer.json");
}

TEST(the_tiny_fixture_maps_ids_to_their_bytes) {
  const std::string dir = testing::model_dir();
  if (dir.empty()) SKIP("tiny model fixture not found");
  const auto b = load_token_bytes(dir + "/tokenizer.json", 384);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(b[static_cast<size_t>(i)], std::string(1, static_cast<char>(i)));
  for (int i = 256; i < 384; ++i) EXPECT(b[static_cast<size_t>(i)].empty());
}
