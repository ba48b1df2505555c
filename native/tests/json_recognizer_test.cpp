// JsonRecognizer: valid documents byte by byte, the exact first rejected byte of invalid ones,
// numbers, literals, escapes, control characters, UTF-8, limits, all-or-nothing feeds, and a
// randomized comparison with a simple recursive-descent validator of complete documents.
#include <cctype>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "sampling/json_recognizer.h"
#include "recognizer_checks.h"
#include "testing.h"

using namespace llm;

namespace {

using Limits = JsonRecognizer::Limits;

Limits big_limits() {
  Limits l;
  l.max_depth = 64;
  l.max_whitespace_run = 1000;
  l.max_number_length = 1000;
  return l;
}

int first_reject(const std::string& doc, const Limits& limits = Limits{}, JsonRecognizer* out = nullptr) {
  JsonRecognizer r(limits);
  const int at = recognizer_checks::first_reject(r, doc);
  if (out) *out = r;
  return at;
}

void expect_valid(const std::string& doc, const Limits& limits = Limits{}) {
  recognizer_checks::expect_valid(JsonRecognizer(limits), doc);
}

void expect_reject_at(const std::string& doc, int index, const Limits& limits = Limits{}) {
  recognizer_checks::expect_reject_at(JsonRecognizer(limits), doc, index);
}

void expect_incomplete(const std::string& doc) { recognizer_checks::expect_incomplete(JsonRecognizer(), doc); }

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

// "{"s":"<body>"}"
std::string in_string(const std::string& body) { return "{\"s\":\"" + body + "\"}"; }
const int kBody = 6;  // index of the first body byte in in_string()

}  // namespace

TEST(trivially_copyable_and_small) {
  static_assert(std::is_trivially_copyable<JsonRecognizer>::value, "");
  EXPECT(sizeof(JsonRecognizer) <= 32);
}

TEST(valid_documents) {
  const char* docs[] = {
      "{}",
      "{ }",
      "  \n\t\r{}",
      "{\"a\":1}",
      "{\"a\":\"b\",\"c\":[1,2,3],\"d\":{\"e\":null}}",
      "{\"\":\"\"}",
      "{\"a\":[]}",
      "{\"a\":[[],{},[{}]]}",
      "{\"a\" : true , \"b\" : false , \"c\" : null }",
      "{\"a\":[true,false,null,\"x\",-1.5e3,{\"b\":[]}]}",
      "{\n  \"k\": [\n    1,\n    2\n  ]\n}",
      "{\"a\":1,\"a\":2}",  // duplicate keys are allowed by the grammar
  };
  for (const char* d : docs) expect_valid(d);
}

TEST(trailing_whitespace_keeps_complete) {
  JsonRecognizer r;
  const std::string doc = "{} \n";
  CHECK(r.feed(reinterpret_cast<const uint8_t*>(doc.data()), doc.size()));
  EXPECT(r.complete());
  EXPECT(!r.feed('{'));  // one object only
  EXPECT(!r.feed('x'));
  EXPECT(!r.feed(','));
  EXPECT(r.complete());
}

TEST(invalid_structure) {
  expect_reject_at("{\"a\" 1}", 5);
  expect_reject_at("{\"a\":1,}", 7);
  expect_reject_at("{\"a\":[1,]}", 8);
  expect_reject_at("{,}", 1);
  expect_reject_at("{\"a\":1 \"b\":2}", 7);
  expect_reject_at("{1:2}", 1);
  expect_reject_at("{\"a\"::1}", 5);
  expect_reject_at("{\"a\":1]", 6);
  expect_reject_at("{\"a\":[1}", 7);
  expect_reject_at("{}}", 2);
  expect_reject_at("{\"a\":}", 5);
  expect_reject_at("{\"a\":[,]}", 6);
  expect_reject_at("{\"a\":1,,\"b\":2}", 7);
  expect_reject_at("{\"a\"}", 4);
  expect_reject_at("{\"a\":'x'}", 5);
  expect_reject_at("{\"a\":[1 2]}", 8);
  expect_incomplete("{\"a\":[1,2]");
  expect_incomplete("{\"a\"");
}

TEST(top_level_must_be_object) {
  expect_reject_at("[]", 0);
  expect_reject_at("\"x\"", 0);
  expect_reject_at("1", 0);
  expect_reject_at("true", 0);
  expect_reject_at("null", 0);
  expect_reject_at("-1", 0);
  expect_reject_at("}", 0);
  expect_reject_at("  [", 2);
  expect_reject_at(bytes({0xEF, 0xBB, 0xBF, '{', '}'}), 0);  // no byte order mark
}

TEST(rejected_byte_leaves_state_unchanged) {
  // Continue with a valid byte after each rejection.
  JsonRecognizer r;
  const std::string prefix = "{\"a\":[1";
  CHECK(r.feed(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()));
  const uint8_t bad[] = {'x', '}', ':', '"', '{', '+', 0x80};
  for (uint8_t b : bad) EXPECT(!r.feed(b));
  EXPECT(r.feed('2'));  // still in the number
  EXPECT(r.feed(']'));
  EXPECT(!r.feed(']'));
  EXPECT(r.feed('}'));
  EXPECT(r.complete());
}

TEST(numbers_valid) {
  const char* nums[] = {"0", "-0", "1", "10", "123", "1.5", "0.0", "-0.5", "1e5", "1E5", "1e+5",
                        "1e-5", "1.5e10", "0e0", "-1.25E-07", "0.000", "9007199254740993"};
  for (const char* n : nums) {
    expect_valid(std::string("{\"a\":") + n + "}");
    expect_valid(std::string("{\"a\":[") + n + "]}");
    expect_valid(std::string("{\"a\":[") + n + "," + n + "]}");
    expect_valid(std::string("{\"a\":") + n + " }");
    expect_valid(std::string("{\"a\":") + n + "\n,\"b\":0}");
  }
}

TEST(numbers_invalid) {
  // {"a":  is 5 bytes, so the number starts at index 5.
  expect_reject_at("{\"a\":01}", 6);
  expect_reject_at("{\"a\":00}", 6);
  expect_reject_at("{\"a\":-01}", 7);
  expect_reject_at("{\"a\":-}", 6);
  expect_reject_at("{\"a\":- 1}", 6);
  expect_reject_at("{\"a\":1.}", 7);
  expect_reject_at("{\"a\":1. }", 7);
  expect_reject_at("{\"a\":1e}", 7);
  expect_reject_at("{\"a\":1e+}", 8);
  expect_reject_at("{\"a\":1E-,\"b\":1}", 8);
  expect_reject_at("{\"a\":.5}", 5);
  expect_reject_at("{\"a\":+1}", 5);
  expect_reject_at("{\"a\":1.e5}", 7);
  expect_reject_at("{\"a\":1.5.}", 8);
  expect_reject_at("{\"a\":1e5.0}", 8);
  expect_reject_at("{\"a\":1e5e}", 8);
  expect_reject_at("{\"a\":1x}", 6);
  expect_reject_at("{\"a\":--1}", 6);
  expect_reject_at("{\"a\":1-}", 6);
  expect_reject_at("{\"a\":0x1}", 6);
  expect_reject_at("{\"a\":[1e+-1]}", 9);
  // Prefixes that cannot end yet are still fine while more bytes may come.
  expect_incomplete("{\"a\":-");
  expect_incomplete("{\"a\":1.");
  expect_incomplete("{\"a\":1e");
  expect_incomplete("{\"a\":1e+");
}

TEST(number_length_limit) {
  Limits l;
  l.max_number_length = 4;
  expect_valid("{\"a\":1234}", l);
  expect_valid("{\"a\":-1.5}", l);
  expect_valid("{\"a\":[1234,5678]}", l);
  expect_reject_at("{\"a\":12345}", 9, l);
  expect_reject_at("{\"a\":-1.55}", 9, l);
  expect_reject_at("{\"a\":1e+10}", 9, l);
  // No number may stop where it cannot end: the last byte must be able to finish it.
  expect_reject_at("{\"a\":123.", 8, l);
  expect_reject_at("{\"a\":12e+", 8, l);
  expect_valid("{\"a\":12e5}", l);
  Limits one;
  one.max_number_length = 1;
  expect_reject_at("{\"a\":-", 5, one);
  expect_valid("{\"a\":7}", one);
}

// Whatever was accepted can still be finished: after every accepted byte the document is
// complete or some byte is accepted. Random walks over a JSON-heavy alphabet with tight limits,
// keeping only accepted bytes, so that they reach the limits.
TEST(no_dead_ends_under_tight_limits) {
  std::mt19937 gen(5);
  const std::string alphabet = "{}[]:,\" \n0123456789.-+eEtrufalsn\\u\xc3\xa9";
  Limits l;
  l.max_depth = 3;
  l.max_whitespace_run = 2;
  l.max_number_length = 4;
  int checked = 0;
  for (int walk = 0; walk < 1000; ++walk) {
    JsonRecognizer r(l);
    for (int step = 0; step < 200 && !r.complete(); ++step) {
      if (!r.feed(static_cast<uint8_t>(alphabet[gen() % alphabet.size()]))) continue;
      bool can_go_on = r.complete();
      for (int b = 0; b < 256 && !can_go_on; ++b) {
        JsonRecognizer probe = r;
        can_go_on = probe.feed(static_cast<uint8_t>(b));
      }
      CHECK(can_go_on);
      ++checked;
    }
  }
  std::fprintf(stderr, "  %d accepted bytes checked\n", checked);
  EXPECT(checked > 15000);
}

TEST(literals) {
  expect_valid("{\"a\":true}");
  expect_valid("{\"a\":false}");
  expect_valid("{\"a\":null}");
  expect_valid("{\"a\":[true,false,null]}");
  expect_reject_at("{\"a\":tru}", 8);
  expect_reject_at("{\"a\":trUe}", 7);
  expect_reject_at("{\"a\":True}", 5);
  expect_reject_at("{\"a\":nul}", 8);
  expect_reject_at("{\"a\":nulll}", 9);
  expect_reject_at("{\"a\":falsey}", 10);
  expect_reject_at("{\"a\":nan}", 6);
  expect_reject_at("{\"a\":undefined}", 5);
  expect_reject_at("{\"a\":true1}", 9);
  expect_reject_at("{true:1}", 1);
}

TEST(escapes) {
  expect_valid(in_string("\\\" \\\\ \\/ \\b \\f \\n \\r \\t"));
  expect_valid(in_string("\\u00e9\\uABCD\\uabcd\\u0000\\uD83D\\uDE00"));
  expect_valid("{\"k\\\"ey\\u0041\":1}");
  expect_reject_at(in_string("\\x"), kBody + 1);
  expect_reject_at(in_string("\\a"), kBody + 1);
  expect_reject_at(in_string("\\U0041"), kBody + 1);
  expect_reject_at(in_string("\\'"), kBody + 1);
  expect_reject_at(in_string("\\0"), kBody + 1);
  expect_reject_at(in_string("\\u12G4"), kBody + 4);
  expect_reject_at(in_string("\\u12"), kBody + 4);  // the closing quote is not a hex digit
  expect_reject_at(in_string("\\ug"), kBody + 2);
  expect_reject_at(in_string("ab\\u00e"), kBody + 7);
}

TEST(control_characters) {
  for (int c = 0; c < 0x20; ++c) expect_reject_at(in_string(std::string("a") + char(c)), kBody + 1);
  expect_reject_at("{\"a\nb\":1}", 3);
  expect_valid(in_string(bytes({0x7F, ' ', '~'})));
}

TEST(utf8_valid) {
  const std::string chars[] = {
      bytes({0xC2, 0x80}),       bytes({0xDF, 0xBF}),       bytes({0xC3, 0xA9}),
      bytes({0xE0, 0xA0, 0x80}), bytes({0xE1, 0x80, 0x80}), bytes({0xEC, 0xBF, 0xBF}),
      bytes({0xED, 0x9F, 0xBF}), bytes({0xEE, 0x80, 0x80}), bytes({0xEF, 0xBF, 0xBF}),
      bytes({0xF0, 0x90, 0x80, 0x80}), bytes({0xF1, 0x80, 0x80, 0x80}),
      bytes({0xF3, 0xBF, 0xBF, 0xBF}), bytes({0xF4, 0x8F, 0xBF, 0xBF}),
  };
  for (const std::string& c : chars) {
    expect_valid(in_string(c));
    expect_valid("{\"" + c + c + "\":\"x" + c + "y\"}");
  }
}

TEST(utf8_invalid) {
  // Lead bytes that can never start a character.
  for (int b : {0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xF8, 0xFF}) {
    expect_reject_at(in_string(bytes({b, 0x80})), kBody);
  }
  // Overlongs, surrogates and code points above U+10FFFF: the first continuation is out of range.
  const int bad_pairs[][2] = {{0xE0, 0x80}, {0xE0, 0x9F}, {0xF0, 0x80}, {0xF0, 0x8F},
                              {0xED, 0xA0}, {0xED, 0xBF}, {0xF4, 0x90}, {0xF4, 0xBF}};
  for (const auto& p : bad_pairs) expect_reject_at(in_string(bytes({p[0], p[1], 0x80, 0x80})), kBody + 1);
  // A continuation that is not 80-BF.
  expect_reject_at(in_string(bytes({0xC2, 0x41})), kBody + 1);
  expect_reject_at(in_string(bytes({0xC2, 0xC0})), kBody + 1);
  expect_reject_at(in_string(bytes({0xE1, 0x80, 0x7F})), kBody + 2);
  expect_reject_at(in_string(bytes({0xF1, 0x80, 0x80, 0xC0})), kBody + 3);
  // Truncated sequences followed by the closing quote.
  expect_reject_at(in_string(bytes({0xC2})), kBody + 1);
  expect_reject_at(in_string(bytes({0xE1, 0x80})), kBody + 2);
  expect_reject_at(in_string(bytes({0xF1, 0x80, 0x80})), kBody + 3);
  expect_reject_at(in_string(bytes({0xE1})), kBody + 1);
  // Non-ASCII outside strings.
  expect_reject_at(bytes({'{', 0xC2, 0xA0, '}'}), 1);
  expect_reject_at(bytes({0xC2, 0xA0, '{', '}'}), 0);
  expect_reject_at(bytes({'{', '}', 0xC2, 0xA0}), 2);
  expect_reject_at(bytes({'{', '"', 'a', '"', ':', 0xC3, 0xA9, '}'}), 5);
}

TEST(depth_limit) {
  Limits l;
  l.max_depth = 3;
  expect_valid("{\"a\":{\"b\":[1]}}", l);
  expect_valid("{\"a\":[[]],\"b\":[{}]}", l);
  expect_reject_at("{\"a\":{\"b\":[[", 11, l);
  expect_reject_at("{\"a\":[[{", 7, l);
  l.max_depth = 1;
  expect_valid("{\"a\":1}", l);
  expect_reject_at("{\"a\":[]}", 5, l);
  // At most 64, whatever is asked.
  l.max_depth = 1000;
  std::string deep = "{\"a\":";
  for (int i = 1; i < 64; ++i) deep += "[";
  for (int i = 1; i < 64; ++i) deep += "]";
  deep += "}";
  expect_valid(deep, l);
  std::string deeper = "{\"a\":" + std::string(64, '[');
  expect_reject_at(deeper, 5 + 63, l);
}

TEST(whitespace_limit) {
  Limits l;
  l.max_whitespace_run = 2;
  expect_valid("  {  \"a\"  :  1  ,  \"b\"  :  [  ]  , \"c\" :\t\ttrue\r\n}", l);
  expect_valid("{\"a\":\"       \"}", l);  // inside a string it does not count
  expect_reject_at("   {}", 2, l);
  expect_reject_at("{   }", 3, l);
  expect_reject_at("{\"a\"   :1}", 6, l);
  expect_reject_at("{\"a\":1   }", 8, l);  // the byte that ends a number counts
  expect_reject_at("{\"a\":[1, \n\t2]}", 10, l);
  JsonRecognizer r;
  expect_reject_at("{}   ", 4, l);
  EXPECT_EQ(first_reject("{}  ", l, &r), -1);
  EXPECT(r.complete());
  l.max_whitespace_run = 0;
  expect_valid("{\"a\":[1,2]}", l);
  expect_reject_at("{ }", 1, l);
}

TEST(feed_all_or_nothing) {
  JsonRecognizer r;
  const std::string a = "{\"a\":";
  CHECK(r.feed(reinterpret_cast<const uint8_t*>(a.data()), a.size()));
  const JsonRecognizer before = r;
  const std::string bad = "12x";
  EXPECT(!r.feed(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
  EXPECT(std::memcmp(&before, &r, sizeof r) == 0);
  EXPECT(r.feed(nullptr, 0));
  const std::string good = "12}";
  EXPECT(r.feed(reinterpret_cast<const uint8_t*>(good.data()), good.size()));
  EXPECT(r.complete());
  // A token that would end the document and then continue it is refused as a whole.
  JsonRecognizer s;
  const std::string doc = "{}{";
  EXPECT(!s.feed(reinterpret_cast<const uint8_t*>(doc.data()), doc.size()));
  EXPECT(!s.complete());
  EXPECT(s.feed('{'));
}

// ---- randomized comparison with a reference validator -----------------------------------------

namespace {

// A recursive-descent validator of complete documents, written independently of the recognizer:
// it decodes UTF-8 into code points and checks them, and reads numbers by their grammar.
class Reference {
 public:
  explicit Reference(const std::string& s) : s_(s) {}

  bool valid() {
    skip_ws();
    if (peek() != '{' || !value(0)) return false;
    skip_ws();
    return i_ == s_.size();
  }

 private:
  int peek() const { return i_ < s_.size() ? static_cast<uint8_t>(s_[i_]) : -1; }
  bool eat(char c) {
    if (peek() != static_cast<uint8_t>(c)) return false;
    ++i_;
    return true;
  }
  void skip_ws() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++i_;
  }
  static bool digit(int c) { return c >= '0' && c <= '9'; }

  bool value(int depth) {
    switch (peek()) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return string();
      case 't': return word("true");
      case 'f': return word("false");
      case 'n': return word("null");
      default: return number();
    }
  }
  bool word(const char* w) {
    for (; *w; ++w)
      if (!eat(*w)) return false;
    return true;
  }
  bool object(int depth) {
    if (depth > 64) return false;
    ++i_;
    skip_ws();
    if (eat('}')) return true;
    for (;;) {
      skip_ws();
      if (peek() != '"' || !string()) return false;
      skip_ws();
      if (!eat(':')) return false;
      skip_ws();
      if (!value(depth)) return false;
      skip_ws();
      if (eat('}')) return true;
      if (!eat(',')) return false;
    }
  }
  bool array(int depth) {
    if (depth > 64) return false;
    ++i_;
    skip_ws();
    if (eat(']')) return true;
    for (;;) {
      skip_ws();
      if (!value(depth)) return false;
      skip_ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
    }
  }
  bool number() {
    eat('-');
    if (eat('0')) {
    } else if (digit(peek()) ) {
      while (digit(peek())) ++i_;
    } else {
      return false;
    }
    if (eat('.')) {
      if (!digit(peek())) return false;
      while (digit(peek())) ++i_;
    }
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digit(peek())) return false;
      while (digit(peek())) ++i_;
    }
    return true;
  }
  bool string() {
    ++i_;  // the opening quote
    for (;;) {
      const int c = peek();
      if (c < 0x20) return false;  // also the end of input
      ++i_;
      if (c == '"') return true;
      if (c == '\\') {
        const int e = peek();
        ++i_;
        if (e == 'u') {
          for (int k = 0; k < 4; ++k, ++i_)
            if (!std::isxdigit(peek())) return false;
        } else if (e <= 0 || !std::strchr("\"\\/bfnrt", e)) {  // strchr also finds the NUL
          return false;
        }
      } else if (c >= 0x80 && !utf8(c)) {
        return false;
      }
    }
  }
  // Decodes the rest of a character whose lead byte `c` was read and checks the code point.
  bool utf8(int c) {
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    for (int k = 0; k < n; ++k) {
      const int b = peek();
      if (b < 0 || (b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | static_cast<uint32_t>(b & 0x3F);
      ++i_;
    }
    const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    return cp >= min_cp[n] && !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
  }

  const std::string& s_;
  size_t i_ = 0;
};

bool reference_valid(const std::string& s) { return Reference(s).valid(); }

// For failure messages: non-printable bytes as \xNN.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string document() { return ws() + object(0) + ws(); }

  std::string mutate(std::string s) {
    static const char kAlphabet[] = "{}[]\":,.-+eE0123456789 \t\n\\/utrfalsnx";
    const int extra[] = {0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5};
    auto byte = [&]() -> char {
      const size_t n = sizeof kAlphabet - 1;
      const size_t k = pick(n + std::size(extra));
      return k < n ? kAlphabet[k] : static_cast<char>(extra[k - n]);
    };
    const size_t pos = pick(s.size() + 1);
    switch (pick(3)) {
      case 0: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), byte()); break;
      case 1: if (pos < s.size()) s.erase(pos, 1); break;
      default: if (pos < s.size()) s[pos] = byte(); break;
    }
    return s;
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

  std::string ws() {
    std::string s;
    while (chance(20)) s += " \t\n\r"[pick(4)];
    return s;
  }
  std::string value(int depth) {
    switch (pick(depth < 4 ? 7 : 5)) {
      case 0: return string();
      case 1: return number();
      case 2: return std::string(pick(3) == 0 ? "true" : pick(2) ? "false" : "null");
      case 3: case 4: return chance(50) ? string() : number();
      case 5: return object(depth + 1);
      default: return array(depth + 1);
    }
  }
  std::string object(int depth) {
    std::string s = "{" + ws();
    const size_t n = pick(4);
    for (size_t k = 0; k < n; ++k) {
      if (k) s += "," + ws();
      s += string() + ws() + ":" + ws() + value(depth) + ws();
    }
    return s + "}";
  }
  std::string array(int depth) {
    std::string s = "[" + ws();
    const size_t n = pick(4);
    for (size_t k = 0; k < n; ++k) {
      if (k) s += "," + ws();
      s += value(depth) + ws();
    }
    return s + "]";
  }
  std::string digits(size_t min) {
    std::string s;
    for (size_t n = min + pick(3); n > 0; --n) s += static_cast<char>('0' + pick(10));
    return s;
  }
  std::string number() {
    std::string s = chance(30) ? "-" : "";
    s += chance(30) ? "0" : std::string(1, static_cast<char>('1' + pick(9))) + digits(0);
    if (chance(30)) s += "." + digits(1);
    if (chance(30)) s += std::string(1, "eE"[pick(2)]) + (chance(50) ? std::string(1, "+-"[pick(2)]) : "") + digits(1);
    return s;
  }
  std::string string() {
    std::string s = "\"";
    for (size_t n = pick(6); n > 0; --n) {
      switch (pick(4)) {
        case 0: {
          const char c = static_cast<char>(0x20 + pick(0x5F));  // printable ASCII
          s += (c == '"' || c == '\\') ? 'x' : c;
          break;
        }
        case 1: s += std::string("\\") + "\"\\/bfnrt"[pick(8)]; break;
        case 2: {
          s += "\\u";
          for (int k = 0; k < 4; ++k) s += "0123456789abcdefABCDEF"[pick(22)];
          break;
        }
        default: s += utf8(); break;
      }
    }
    return s + "\"";
  }
  // A random valid character of 1 to 4 bytes, encoded here by hand.
  std::string utf8() {
    const uint32_t lo[] = {0x20, 0x80, 0x800, 0xE000, 0x10000};
    const uint32_t hi[] = {0x7E, 0x7FF, 0xD7FF, 0xFFFF, 0x10FFFF};
    const size_t r = pick(5);
    uint32_t cp = lo[r] + static_cast<uint32_t>(pick(hi[r] - lo[r] + 1));
    if (cp == '"' || cp == '\\') cp = 'x';
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  }

  std::mt19937 rng_;
};

}  // namespace

TEST(reference_sanity) {
  EXPECT(reference_valid("{}"));
  EXPECT(reference_valid(" {\"a\":[1,-0.5e+3,true,null,\"\\u00e9\"]} "));
  EXPECT(!reference_valid("[]"));
  EXPECT(!reference_valid("{\"a\":01}"));
  EXPECT(!reference_valid("{\"a\":1.}"));
  EXPECT(!reference_valid(in_string(bytes({0xED, 0xA0, 0x80}))));
  EXPECT(!reference_valid(in_string(bytes({0xC0, 0x80}))));
  EXPECT(reference_valid(in_string(bytes({0xF4, 0x8F, 0xBF, 0xBF}))));
  EXPECT(!reference_valid(in_string(bytes({'\\', 0}))));
}

TEST(randomized_against_reference) {
  Generator gen(20240601);
  const Limits limits = big_limits();
  int valid = 0, invalid = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string doc = gen.document();
    // Half the documents get one to three mutations.
    if (iter % 2) {
      for (int k = 1 + iter % 3; k > 0; --k) doc = gen.mutate(doc);
    }
    const bool want = reference_valid(doc);
    JsonRecognizer r(limits);
    bool all = true;
    for (size_t i = 0; i < doc.size() && all; ++i) {
      all = r.feed(static_cast<uint8_t>(doc[i]));
      // A valid document: every prefix is accepted and complete exactly when it is a document.
      if (want && all && r.complete() != reference_valid(doc.substr(0, i + 1)))
        ::testing::report_failure(__FILE__, __LINE__,
                                  "complete() wrong after " + std::to_string(i + 1) + " bytes of: " + printable(doc));
    }
    const bool got = all && r.complete();
    if (got != want)
      ::testing::report_failure(__FILE__, __LINE__,
                                std::string("recognizer ") + (got ? "accepts" : "rejects") +
                                    " but reference " + (want ? "accepts" : "rejects") + ": " + printable(doc));
    (want ? valid : invalid)++;
  }
  // Both sides were exercised.
  EXPECT(valid > 1000);
  EXPECT(invalid > 1000);
}
