// Fuzzes the safetensors header parser and the JSON parser with random, truncated and mutated
// input (fixed seed, so a failure reproduces). Each input must either parse into entries that lie
// inside the file, or throw llm::Error; anything else (another exception, a crash, an ASan report
// in the sanitizer build) fails.
#include <random>
#include <string>

#include "llm/error.h"
#include "model/json.h"
#include "model/safetensors.h"
#include "model_test_util.h"
#include "testing.h"

namespace {

struct Outcome {
  int ok = 0;
  int errors = 0;
};

void run_header(const std::string& bytes, uint64_t file_size, Outcome& out) {
  try {
    llm::SafetensorsHeader h = llm::parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                             bytes.size(), file_size, "fuzz.safetensors");
    for (const auto& e : h.tensors) {
      if (e.end < e.begin || h.data_start + e.end > file_size)
        testing::report_failure(__FILE__, __LINE__, "accepted an entry outside the file: " + e.name);
    }
    ++out.ok;
  } catch (const llm::Error& e) {
    if (std::string(e.what()).find("fuzz.safetensors") == std::string::npos)
      testing::report_failure(__FILE__, __LINE__, std::string("error does not name the file: ") + e.what());
    ++out.errors;
  } catch (const std::exception& e) {
    testing::report_failure(__FILE__, __LINE__, std::string("unexpected exception type: ") + e.what());
  }
}

std::string with_length_prefix(const std::string& header) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header;
}

// A real header (the tiny fixture's, or a synthetic one when the fixture is absent).
std::string seed_file() {
  std::string dir = testing::model_dir();
  if (!dir.empty()) {
    std::string data = testutil::read_file(dir + "/model.safetensors");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(data[i]);
    return data.substr(0, 8 + n + 64);  // header plus a little data
  }
  std::vector<testutil::StTensor> t = {{"a", "F32", {2, 3}, std::string(24, '\1')},
                                       {"b", "BF16", {4}, std::string(8, '\2')}};
  return testutil::safetensors_bytes(t);
}

const char* const kTokens[] = {"{", "}", "[", "]", ",", ":", "\"dtype\"", "\"shape\"", "\"data_offsets\"",
                               "\"F32\"", "\"BF16\"", "\"F16\"", "\"I64\"", "0", "1", "-1", "18446744073709551615",
                               "1e308", "1.5", "\"x\"", "null", "true", "\"__metadata__\"", " ", "\"\\u0000\"",
                               "\"\\ud800\"", "4", "9007199254740993", "1e-400", "\"\\"};

}  // namespace

TEST(random_bytes) {
  std::mt19937_64 rng(20240611);
  Outcome out;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string s(rng() % 96, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    // Half of them get a plausible length prefix so the JSON parser is reached.
    if (iter % 2 && s.size() >= 8) {
      uint64_t n = s.size() - 8 - (rng() % 3 == 0 ? 0 : rng() % (s.size() - 7));
      for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
      if (s.size() > 8) s[8] = '{';
    }
    run_header(s, s.size() + (rng() % 2 ? 0 : rng() % 1000), out);
  }
  EXPECT(out.errors > 3900);
}

TEST(every_truncation_of_a_real_header) {
  const std::string file = seed_file();
  Outcome out;
  for (size_t len = 0; len <= file.size(); ++len) {
    std::string prefix = file.substr(0, len);
    run_header(prefix, prefix.size(), out);  // the file really ends there
  }
  // Only the full length (and those in the data section past the header) may parse; the
  // truncations inside the header never.
  EXPECT(out.errors > 0);
  EXPECT(out.ok <= 64 + 1);
  // The untouched header itself parses (the data section is cut, so only with the real size).
  Outcome whole;
  run_header(file, file.size() + (1u << 24), whole);
  EXPECT_EQ(whole.ok, 1);
}

TEST(mutated_real_header) {
  const std::string file = seed_file();
  std::mt19937_64 rng(7);
  Outcome out;
  for (int iter = 0; iter < 6000; ++iter) {
    std::string s = file;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[pos] = static_cast<char>(rng() & 0xff); break;
        case 1: s[pos] = "{}[],:\"0123456789-e.\\ "[rng() % 23]; break;
        case 2: s.erase(pos, 1 + rng() % 8); break;
        default: s.insert(pos, kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))]); break;
      }
      if (s.empty()) s = "x";
    }
    run_header(s, s.size() + (rng() % 2 ? 0 : 1u << 20), out);
  }
  EXPECT(out.ok > 0);  // some mutations (in the data) keep it valid
  EXPECT(out.errors > 1000);
}

TEST(random_token_soup_headers) {
  std::mt19937_64 rng(99);
  Outcome out;
  for (int iter = 0; iter < 6000; ++iter) {
    std::string h;
    int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) h += kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))];
    std::string s = with_length_prefix(h);
    run_header(s, s.size() + rng() % 4096, out);
  }
  EXPECT(out.errors > 0);
}

TEST(json_parser_edge_cases) {
  auto ok = [](const std::string& s) {
    try {
      llm::json::parse(s, "t");
      return true;
    } catch (const llm::Error&) {
      return false;
    }
  };
  EXPECT(ok("{\"a\":[1,2.5e3,-0,true,false,null,\"\\u00e9\\ud83d\\ude00\"]}"));
  EXPECT(ok("  7 "));
  EXPECT(!ok(""));
  EXPECT(!ok("{\"a\":1,}"));
  EXPECT(!ok("[1,]"));
  EXPECT(!ok("{\"a\":1,\"a\":2}"));
  EXPECT(!ok("01"));
  EXPECT(!ok("1."));
  EXPECT(!ok("NaN"));
  EXPECT(!ok("1e999"));
  EXPECT(!ok("\"\\ud800\""));
  EXPECT(!ok("\"a\nb\""));
  EXPECT(!ok("{} {}"));
  EXPECT(!ok("/* c */ 1"));
  EXPECT(ok(std::string(128, '[') + std::string(128, ']')));
  EXPECT(!ok(std::string(100000, '[') + std::string(100000, ']')));  // no stack overflow
  llm::json::Value v = llm::json::parse("{\"s\":\"\\u00e9\\ud83d\\ude00\",\"n\":1e3}", "t");
  EXPECT_EQ(v.find("s")->as_string(), std::string("\xc3\xa9\xf0\x9f\x98\x80"));
  EXPECT(v.find("n")->is_integer());
  EXPECT_EQ(v.find("n")->as_int64(), int64_t{1000});
  EXPECT_THROWS(llm::json::parse("[1, 2", "cfg.json"), "cfg.json: invalid JSON at byte 5");
}

TEST(json_random_bytes_and_truncations) {
  std::mt19937_64 rng(4242);
  const std::string sample =
      "{\"a\": [1, -2.5e-3, {\"b\": null, \"c\": \"x\\\"y\\u0041\\ud83d\\ude00\"}], \"d\": true, \"e\": false}";
  int errors = 0;
  for (size_t len = 0; len < sample.size(); ++len) {
    try {
      llm::json::parse(sample.substr(0, len), "t");
    } catch (const llm::Error&) {
      ++errors;
    }
  }
  EXPECT_EQ(errors, static_cast<int>(sample.size()));  // every proper prefix is invalid
  for (int iter = 0; iter < 5000; ++iter) {
    std::string s = sample;
    for (int e = 0; e < 3; ++e) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
    try {
      llm::json::parse(s, "t");
    } catch (const llm::Error&) {
    } catch (const std::exception& e) {
      testing::report_failure(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
  }
}
