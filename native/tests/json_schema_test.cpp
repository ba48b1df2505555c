// JsonSchema / JsonSchemaRecognizer: compile errors with their JSON pointers, valid documents
// byte by byte, the exact first rejected byte of invalid ones, in_string_text(), all-or-nothing
// feeds, and a randomized comparison (random schemas, matching and mutated instances) with a
// reference validator built on llm::json::parse.
#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "llm/error.h"
#include "model/json.h"
#include "sampling/json_schema.h"
#include "recognizer_checks.h"
#include "testing.h"

using namespace llm;

namespace {

std::shared_ptr<const JsonSchema> S(const std::string& text) { return JsonSchema::compile(text); }

void expect_valid(const std::string& schema_text, const std::string& doc) {
  auto schema = S(schema_text);
  recognizer_checks::expect_valid(JsonSchemaRecognizer(schema.get()), doc);
}

void expect_reject_at(const std::string& schema_text, const std::string& doc, int index) {
  auto schema = S(schema_text);
  recognizer_checks::expect_reject_at(JsonSchemaRecognizer(schema.get()), doc, index);
}

void expect_incomplete(const std::string& schema_text, const std::string& doc) {
  auto schema = S(schema_text);
  recognizer_checks::expect_incomplete(JsonSchemaRecognizer(schema.get()), doc);
}

const char* const kPerson =
    R"({"type":"object","title":"p","properties":{)"
    R"("name":{"type":"string","description":"d"},)"
    R"("age":{"type":"integer"},)"
    R"("nick":{"type":["string","null"]},)"
    R"("tags":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2},)"
    R"("role":{"enum":["admin","user",1,2.5,true,null]},)"
    R"("score":{"type":"number"},)"
    R"("ok":{"type":"boolean"},)"
    R"("n":{"type":"null"})"
    R"(},"required":["name","age"],"additionalProperties":false})";

}  // namespace

TEST(recognizer_is_small_and_trivially_copyable) {
  static_assert(std::is_trivially_copyable<JsonSchemaRecognizer>::value, "copied per token");
  EXPECT(sizeof(JsonSchemaRecognizer) <= 400);
  std::printf("  sizeof(JsonSchemaRecognizer) = %zu\n", sizeof(JsonSchemaRecognizer));
}

TEST(compile_errors_name_keyword_and_path) {
  EXPECT_THROWS(S(R"({"type":"object","properties":{"tags":{"type":"object",)"
                  R"("patternProperties":{}}}})"),
                "json_schema: 'patternProperties' at #/properties/tags is not supported");
  for (const char* kw : {"anyOf", "oneOf", "allOf", "not", "$ref", "$defs", "definitions",
                         "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
                         "if", "bogus"}) {
    const std::string schema = std::string(R"({"type":"object","properties":{"a/b":{"type":)") +
                               R"("array","items":{"type":"string",")" + kw + R"(":1}}}})";
    const std::string want =
        std::string("'") + kw + "' at #/properties/a~1b/items is not supported";
    EXPECT_THROWS(S(schema), want.c_str());
  }
  EXPECT_THROWS(S(R"({"anyOf":[]})"), "'anyOf' at # is not supported");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a":{}}})"),
                "schema at #/properties/a needs 'type', 'enum' or 'const'");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["b"]})"),
                "'required' at # names 'b', which is not in 'properties'");
  EXPECT_THROWS(S(R"({"type":"object","required":"a"})"), "'required' at # must be an array");
  EXPECT_THROWS(S(R"({"type":"object","additionalProperties":true})"),
                "'additionalProperties' at # is not supported");
  EXPECT_THROWS(S(R"({"type":"object","additionalProperties":{"type":"string"}})"),
                "'additionalProperties' at # is not supported");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"x":{"type":"array"}}})"),
                "items is required for the array at #/properties/x");
  EXPECT_THROWS(S(R"({"type":"array","items":[{"type":"string"}]})"), "tuples are not supported");
  EXPECT_THROWS(S(R"({"type":"array","items":{"type":"string"},"minItems":-1})"),
                "'minItems' at # must be a non-negative integer");
  EXPECT_THROWS(S(R"({"type":"array","items":{"type":"string"},"maxItems":1.5})"),
                "'maxItems' at # must be a non-negative integer");
  EXPECT_THROWS(S(R"({"type":"array","items":{"type":"string"},"minItems":3,"maxItems":2})"),
                "'maxItems' at # is less than 'minItems'");
  EXPECT_THROWS(S(R"({"type":"strin"})"), "'type' at #/type must name");
  EXPECT_THROWS(S(R"({"type":[]})"), "'type' at #/type is an empty list");
  EXPECT_THROWS(S(R"({"enum":[]})"), "'enum' at # must be a non-empty array");
  EXPECT_THROWS(S(R"({"enum":["a",{"b":1}]})"), "the value at #/enum/1 must be a string");
  EXPECT_THROWS(S(R"({"enum":["a"],"const":"b"})"), "'const' at # is not one of its 'enum'");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a\"b":{"type":"null"}}})"),
                "needs escaping");
  EXPECT_THROWS(S(R"(true)"), "the schema at # must be an object");
  EXPECT_THROWS(S(R"({"type":"object")"), "json_schema");  // not JSON

  std::string props;
  for (int i = 0; i < 65; ++i)
    props += (i ? ",\"p" : "\"p") + std::to_string(i) + "\":{\"type\":\"null\"}";
  EXPECT_THROWS(S(R"({"type":"object","properties":{)" + props + "}}"), "more than 64 properties");
  props = props.substr(0, props.rfind(",\"p64\""));
  S(R"({"type":"object","properties":{)" + props + "}}");  // 64 is fine

  // Nesting: 32 levels compile, 33 do not.
  auto nested = [](int levels) {
    std::string s = R"({"type":"null"})";
    for (int i = 1; i < levels; ++i) s = R"({"type":"array","items":)" + s + "}";
    return s;
  };
  S(nested(32));
  EXPECT_THROWS(S(nested(33)), "nested deeper than 32");
}

TEST(annotations_are_ignored) {
  expect_valid(R"({"$schema":"x","$id":"y","$comment":"c","title":"t","description":"d",)"
               R"("default":{},"examples":[],"strict":true,"name":"n","type":"object"})",
               "{}");
}

TEST(valid_documents) {
  expect_valid(kPerson, R"({"name":"Ann","age":42})");
  expect_valid(kPerson, R"({"age":-7,"name":"B\"\u00e9\n"})");
  expect_valid(kPerson,
               "{ \"role\" : \"admin\" ,\n\t\"tags\": [\"a\", \"b\"], \"name\":\"\", \"age\":0,"
               "\"nick\":null,\"score\":-1.5e+3,\"ok\":false,\"n\":null}");
  expect_valid(kPerson, R"({"name":"x","age":1,"nick":"y","role":1})");
  expect_valid(kPerson, R"({"name":"x","age":1,"role":2.5,"ok":true})");
  expect_valid(kPerson, R"({"name":"x","age":1,"role":true})");
  expect_valid(kPerson, R"({"name":"x","age":1,"role":null})");
  expect_valid(kPerson, R"({"name":"x","age":1,"role":"user"})");
  expect_valid(kPerson, "{\"name\":\"\xc3\xa9\xf0\x9f\x98\x80\",\"age\":1}");
  // Top-level values other than objects.
  expect_valid(R"({"type":"array","items":{"type":"integer"}})", "[1,2,3]");
  expect_valid(R"({"type":"array","items":{"type":"integer"}})", "[]");
  expect_valid(R"({"type":"string"})", R"("hi")");
  expect_valid(R"({"type":["null","boolean"]})", "null");
  expect_valid(R"({"type":["null","boolean"]})", "false");
  expect_valid(R"({"const":"only"})", R"("only")");
  expect_valid(R"({"enum":["a\"b\n", "c"]})", R"("a\"b\n")");  // the canonical escapes
  expect_valid(R"({"type":"object","properties":{"a":{"type":"object","properties":{)"
               R"("b":{"type":"array","items":{"type":"array","items":{"type":"number"}}}}}}})",
               R"({"a":{"b":[[1,2.5],[],[0e0]]}})");
  // Keys that are prefixes of other keys.
  expect_valid(R"({"type":"object","properties":{"a":{"type":"null"},"ab":{"type":"null"},)"
               R"("abc":{"type":"null"}},"required":["a","ab","abc"]})",
               R"({"abc":null,"a":null,"ab":null})");
  // Whitespace around the top-level value, within the limit.
  auto schema = S(R"({"type":"integer"})");
  JsonSchemaRecognizer r(schema.get());
  const std::string doc = "        12        ";
  CHECK(r.feed(reinterpret_cast<const uint8_t*>(doc.data()), doc.size()));
  EXPECT(r.complete());
  EXPECT(!r.feed(' '));
}

TEST(top_level_numbers_complete_when_they_may_end) {
  expect_incomplete(R"({"type":"number"})", "-");
  expect_incomplete(R"({"type":"number"})", "1.");
  expect_incomplete(R"({"type":"number"})", "1e");
  auto schema = S(R"({"type":"number"})");
  JsonSchemaRecognizer r(schema.get());
  for (char c : std::string("1.5e3")) CHECK(r.feed(static_cast<uint8_t>(c)));
  EXPECT(r.complete());
  // Enum numbers: "1" is complete, yet may still grow to "12".
  auto e = S(R"({"enum":[1,12]})");
  JsonSchemaRecognizer re(e.get());
  CHECK(re.feed('1'));
  EXPECT(re.complete());
  CHECK(re.feed('2'));
  EXPECT(re.complete());
  EXPECT(!re.feed('3'));
  expect_incomplete(R"({"enum":[12]})", "1");
  expect_incomplete(R"({"type":"boolean"})", "tru");
}

TEST(invalid_documents_first_rejected_byte) {
  // Wrong key, duplicate key, '}' before a required key.
  expect_reject_at(kPerson, R"({"nam":1})", 5);
  expect_reject_at(kPerson, R"({"x":1})", 2);
  expect_reject_at(kPerson, R"({"name":"a","name":"b"})", 14);  // only "n", "nick" are left
  expect_reject_at(kPerson, R"({"name":"a"})", 11);
  expect_reject_at(kPerson, R"({})", 1);
  expect_reject_at(kPerson, R"({"name":"a","age":1,})", 20);
  expect_reject_at(kPerson, R"({"n\u0061me":"a"})", 3);  // no escapes in keys
  // Wrong types.
  expect_reject_at(kPerson, R"({"name":1})", 8);
  expect_reject_at(kPerson, R"({"age":"1"})", 7);
  expect_reject_at(kPerson, R"({"age":1.5})", 8);  // integer with '.'
  expect_reject_at(kPerson, R"({"age":1e5})", 8);
  expect_reject_at(kPerson, R"({"ok":null})", 6);
  expect_reject_at(kPerson, R"({"n":false})", 5);
  expect_reject_at(kPerson, R"({"nick":true})", 8);  // union ["string","null"]
  expect_reject_at(kPerson, R"({"tags":["a",1]})", 13);
  expect_reject_at(kPerson, R"({"tags":{}})", 8);
  // Enum mismatches.
  expect_reject_at(kPerson, R"({"role":"adm1n"})", 12);
  expect_reject_at(kPerson, R"({"role":"user ")", 13);
  expect_reject_at(kPerson, R"({"role":12})", 9);
  expect_reject_at(kPerson, R"({"role":2.50})", 11);
  expect_reject_at(kPerson, R"({"role":false})", 8);
  expect_reject_at(kPerson, R"({"role":"admin"x)", 15);
  // Too many / too few items.
  expect_reject_at(kPerson, R"({"tags":[]})", 9);
  expect_reject_at(kPerson, R"({"tags":["a","b","c"]})", 16);
  expect_reject_at(R"({"type":"array","items":{"type":"null"},"maxItems":0})", "[null]", 1);
  expect_reject_at(R"({"type":"array","items":{"type":"null"},"minItems":2})", "[null]", 5);
  // Lexical errors as in JsonRecognizer.
  expect_reject_at(kPerson, R"({"name":"a)" "\x01", 10);
  expect_reject_at(kPerson, R"({"age":01})", 8);
  expect_reject_at(kPerson, "{\"name\":\"\xc0\"}", 9);
  expect_reject_at(kPerson, R"({"name":"\x"})", 10);
  expect_reject_at(kPerson, R"({"age":1,"name":""}})", 19);
  expect_reject_at(kPerson, "{         \"age\":1}", 9);  // 9th whitespace byte
  expect_reject_at(R"({"type":"number"})", "1234567890123456789012345678901234", 32);
  expect_reject_at(R"({"type":"string"})", R"("a"")", 3);
  expect_reject_at(R"({"type":"object"})", R"({"a":1})", 1);  // no properties: only {}
  // No ',' once every property was seen: nothing could follow it.
  expect_reject_at(R"({"type":"object","properties":{"a":{"type":"null"},"b":{"type":"null"}}})",
                   R"({"b":null,"a":null,)", 18);
}

TEST(depth_limit) {
  std::string schema = R"({"type":"null"})";
  for (int i = 0; i < 31; ++i) schema = R"({"type":"array","items":)" + schema + "}";
  const std::string doc = std::string(31, '[') + "null" + std::string(31, ']');
  expect_valid(schema, doc);
  std::string deep = R"({"type":"array","items":{"type":"array","items":{"type":"null"}}})";
  expect_reject_at(deep, "[[[", 2);
}

TEST(in_string_text_only_in_free_strings) {
  auto schema = S(kPerson);
  JsonSchemaRecognizer r(schema.get());
  const std::string doc = R"({"name":"ab\"c","role":"user","nick":"x","age":1})";
  std::string flags;
  for (char c : doc) {
    CHECK(r.feed(static_cast<uint8_t>(c)));
    flags += r.in_string_text() ? 'T' : '.';
  }
  // T after the opening quote of a free string and after each content byte, but not after '\'.
  EXPECT_EQ(flags, std::string(8, '.') + "TTT.TT" + std::string(23, '.') + "TT" +
                       std::string(10, '.'));
  // Printable ASCII other than '"' and '\' leaves the state exactly as it is.
  JsonSchemaRecognizer s(schema.get());
  const std::string prefix = R"({"name":"x)";
  CHECK(s.feed(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()));
  CHECK(s.in_string_text());
  for (int b = 0x20; b < 0x7F; ++b) {
    if (b == '"' || b == '\\') continue;
    JsonSchemaRecognizer t = s;
    CHECK(t.feed(static_cast<uint8_t>(b)));
    EXPECT(std::memcmp(&t, &s, sizeof s) == 0);
  }
  JsonSchemaRecognizer top(S(R"({"type":"string"})").get());
  EXPECT(!top.in_string_text());
}

TEST(feed_all_or_nothing) {
  auto schema = S(kPerson);
  JsonSchemaRecognizer r(schema.get());
  const std::string good = R"({"name":"a",)";
  const std::string bad = R"("age":1.)";
  CHECK(r.feed(reinterpret_cast<const uint8_t*>(good.data()), good.size()));
  const JsonSchemaRecognizer before = r;
  EXPECT(!r.feed(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
  EXPECT(std::memcmp(&before, &r, sizeof r) == 0);
  const std::string rest = R"("age":1})";
  CHECK(r.feed(reinterpret_cast<const uint8_t*>(rest.data()), rest.size()));
  EXPECT(r.complete());
  // The recognizer only reads the schema through the pointer: copies are independent.
  JsonSchemaRecognizer copy = r;
  EXPECT(!copy.feed(','));
  EXPECT(copy.complete());
}

// ---- Randomized comparison with a reference validator ----

namespace {

struct TSchema {
  std::vector<std::string> types;        // empty when enum_texts decides
  std::vector<std::string> enum_texts;   // canonical JSON texts
  std::vector<std::string> names;
  std::vector<TSchema> children;
  std::vector<bool> required;
  std::vector<TSchema> items;            // 0 or 1
  int min_items = -1, max_items = -1;
};

struct Gen {
  std::mt19937 rng{20261127};
  int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
  bool coin() { return pick(2) == 0; }

  TSchema schema(int depth) {
    TSchema s;
    // Objects and arrays only above depth 4; the root is mostly an object.
    const int kind = depth == 1 ? (pick(4) ? 0 : pick(8)) : depth >= 4 ? 4 + pick(4) : pick(8);
    static const char* const kEnum[] = {"\"red\"", "\"re\"", "\"green\"", "\"\"", "1", "12", "-3",
                                        "2.5", "0", "true", "false", "null"};
    static const char* const kNames[] = {"a", "ab", "abc", "b", "name", "id", "x", "tags"};
    static const char* const kScalars[] = {"string", "number", "integer", "boolean", "null"};
    switch (kind) {
      case 0: case 1: {  // object
        s.types = {"object"};
        for (const char* n : kNames) {
          if (pick(3)) continue;
          s.names.push_back(n);
          s.children.push_back(schema(depth + 1));
          s.required.push_back(coin());
        }
        break;
      }
      case 2: case 3: {  // array
        s.types = {"array"};
        s.items.push_back(schema(depth + 1));
        if (coin()) s.min_items = pick(3);
        if (coin()) s.max_items = std::max(s.min_items, 0) + pick(3);
        break;
      }
      case 4: {  // enum
        const int n = 1 + pick(4);
        for (int i = 0; i < n; ++i) s.enum_texts.push_back(kEnum[pick(12)]);
        if (coin()) s.types = {"string"};  // the enum decides
        break;
      }
      case 5: {  // union of scalars
        for (const char* t : kScalars)
          if (coin()) s.types.push_back(t);
        if (s.types.empty()) s.types.push_back("null");
        break;
      }
      default: s.types = {kScalars[pick(5)]}; break;
    }
    return s;
  }

  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
    return out;
  }

  std::string schema_text(const TSchema& s) {
    std::vector<std::string> parts;
    if (coin()) parts.push_back(R"("description":"d")");
    if (!s.enum_texts.empty()) {
      if (s.enum_texts.size() == 1 && coin()) parts.push_back("\"const\":" + s.enum_texts[0]);
      else parts.push_back("\"enum\":[" + join(s.enum_texts) + "]");
    }
    if (s.types.size() == 1 && coin()) {
      parts.push_back("\"type\":\"" + s.types[0] + "\"");
    } else if (!s.types.empty()) {
      std::vector<std::string> quoted;
      for (const std::string& t : s.types) quoted.push_back("\"" + t + "\"");
      parts.push_back("\"type\":[" + join(quoted) + "]");
    }
    if (s.types.size() == 1 && s.types[0] == "object") {
      std::vector<std::string> props, req;
      for (size_t i = 0; i < s.names.size(); ++i) {
        props.push_back("\"" + s.names[i] + "\":" + schema_text(s.children[i]));
        if (s.required[i]) req.push_back("\"" + s.names[i] + "\"");
      }
      parts.push_back("\"properties\":{" + join(props) + "}");
      if (!req.empty() || coin()) parts.push_back("\"required\":[" + join(req) + "]");
      if (coin()) parts.push_back("\"additionalProperties\":false");
    }
    if (!s.items.empty()) parts.push_back("\"items\":" + schema_text(s.items[0]));
    if (s.min_items >= 0) parts.push_back("\"minItems\":" + std::to_string(s.min_items));
    if (s.max_items >= 0) parts.push_back("\"maxItems\":" + std::to_string(s.max_items));
    std::shuffle(parts.begin(), parts.end(), rng);
    return "{" + join(parts) + "}";
  }

  std::string ws() {
    static const char kWs[] = " \t\n\r";
    std::string out;
    for (int n = pick(5) - 2; n > 0; --n) out += kWs[pick(4)];  // 0-2 bytes, mostly none
    return out;
  }

  std::string digits(int max) {
    std::string out(1, static_cast<char>('1' + pick(9)));
    for (int n = pick(max); n > 0; --n) out += static_cast<char>('0' + pick(10));
    return out;
  }

  std::string value(const TSchema& s) {
    if (!s.enum_texts.empty()) return s.enum_texts[pick(static_cast<int>(s.enum_texts.size()))];
    const std::string& t = s.types[pick(static_cast<int>(s.types.size()))];
    if (t == "object") {
      std::vector<size_t> order;
      for (size_t i = 0; i < s.names.size(); ++i)
        if (s.required[i] || coin()) order.push_back(i);
      std::shuffle(order.begin(), order.end(), rng);
      std::string out = "{";
      for (size_t k = 0; k < order.size(); ++k)
        out += (k ? "," : "") + ws() + "\"" + s.names[order[k]] + "\"" + ws() + ":" + ws() +
               value(s.children[order[k]]) + ws();
      return out + (order.empty() ? ws() : "") + "}";
    }
    if (t == "array") {
      const int lo = std::max(s.min_items, 0);
      const int hi = s.max_items >= 0 ? s.max_items : lo + 3;
      const int n = lo + pick(hi - lo + 1);
      std::string out = "[";
      for (int i = 0; i < n; ++i) out += (i ? "," : "") + ws() + value(s.items[0]) + ws();
      return out + (n == 0 ? ws() : "") + "]";
    }
    if (t == "string") {
      static const char* const kPieces[] = {"a", "Z", " ", "0", "\\\"", "\\\\", "\\n", "\\u00e9",
                                            "\\/", "{", "]", ":", ",", "'"};
      std::string out = "\"";
      for (int n = pick(6); n > 0; --n) out += kPieces[pick(14)];
      return out + "\"";
    }
    if (t == "integer" || t == "number") {
      std::string out = coin() ? "" : "-";
      out += pick(4) ? digits(4) : "0";
      if (t == "number" && coin()) out += "." + std::to_string(pick(100));
      if (t == "number" && pick(4) == 0)
        out += std::string(coin() ? "e" : "E") + (coin() ? "" : coin() ? "+" : "-") +
               std::to_string(pick(20));
      return out;
    }
    if (t == "boolean") return coin() ? "true" : "false";
    return "null";
  }

  std::string mutate(std::string doc) {
    static const char kBytes[] = "{}[]\",:0123456789-+.eEtrufalsn \\ax";
    for (int edits = 1 + pick(2); edits > 0; --edits) {
      const size_t at = rng() % (doc.size() + 1);
      const char b = kBytes[pick(static_cast<int>(sizeof kBytes) - 1)];
      switch (pick(3)) {
        case 0: doc.insert(doc.begin() + static_cast<long>(at), b); break;
        case 1: if (at < doc.size()) doc.erase(at, 1); break;
        default: if (at < doc.size()) doc[at] = b; break;
      }
    }
    return doc;
  }
};

// The number tokens of a document that parsed, in document order (strings skipped).
std::vector<std::string> number_tokens(const std::string& doc) {
  std::vector<std::string> out;
  for (size_t i = 0; i < doc.size();) {
    const char c = doc[i];
    if (c == '"') {
      for (++i; doc[i] != '"'; ++i)
        if (doc[i] == '\\') ++i;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < doc.size() && doc[j] && std::strchr("0123456789-+.eE", doc[j])) ++j;
      out.push_back(doc.substr(i, j - i));
      i = j;
    } else if (c >= 'a' && c <= 'z') {
      while (i < doc.size() && doc[i] >= 'a' && doc[i] <= 'z') ++i;  // a literal
    } else {
      ++i;
    }
  }
  return out;
}

struct Reference {
  const std::vector<std::string>& numbers;  // number tokens in document order
  size_t next = 0;

  bool check(const TSchema& s, const json::Value& v) {
    std::string number;
    if (v.is_number()) number = numbers[next++];
    if (!s.enum_texts.empty()) {
      std::string text;
      switch (v.type()) {
        case json::Type::String: text = "\"" + v.as_string() + "\""; break;
        case json::Type::Number: text = number; break;
        case json::Type::Bool: text = v.as_bool() ? "true" : "false"; break;
        case json::Type::Null: text = "null"; break;
        default: return false;
      }
      return std::find(s.enum_texts.begin(), s.enum_texts.end(), text) != s.enum_texts.end();
    }
    auto allows = [&](const char* t) {
      return std::find(s.types.begin(), s.types.end(), t) != s.types.end();
    };
    switch (v.type()) {
      case json::Type::Null: return allows("null");
      case json::Type::Bool: return allows("boolean");
      case json::Type::String: return allows("string");
      case json::Type::Number:
        return allows("number") ||
               (allows("integer") && number.find_first_of(".eE") == std::string::npos);
      case json::Type::Array: {
        if (!allows("array")) return false;
        const int n = static_cast<int>(v.items().size());
        if (n < s.min_items || (s.max_items >= 0 && n > s.max_items)) return false;
        for (const json::Value& item : v.items())
          if (!check(s.items[0], item)) return false;
        return true;
      }
      case json::Type::Object: {
        if (!allows("object")) return false;
        std::vector<bool> seen(s.names.size());
        for (const auto& [key, member] : v.members()) {
          auto it = std::find(s.names.begin(), s.names.end(), key);
          if (it == s.names.end()) return false;
          const size_t i = static_cast<size_t>(it - s.names.begin());
          seen[i] = true;
          if (!check(s.children[i], member)) return false;
        }
        for (size_t i = 0; i < seen.size(); ++i)
          if (s.required[i] && !seen[i]) return false;
        return true;
      }
    }
    return false;
  }
};

// 1 valid, 0 invalid, -1 unknown (a number out of double range, which json::parse refuses but
// JSON allows). The generator keeps whitespace runs, numbers and depth well inside the limits,
// so the reference need not apply them.
int reference_valid(const TSchema& s, const std::string& doc) {
  json::Value v;
  try {
    v = json::parse(doc, "doc");
  } catch (const Error& e) {
    return std::strstr(e.what(), "out of range") ? -1 : 0;
  }
  const std::vector<std::string> numbers = number_tokens(doc);
  Reference ref{numbers};
  return ref.check(s, v);
}

bool recognizer_valid(const JsonSchema& schema, const std::string& doc) {
  JsonSchemaRecognizer r(&schema);
  for (char c : doc)
    if (!r.feed(static_cast<uint8_t>(c))) return false;
  return r.complete();
}

// The shortest way to complete the value from `r`, by breadth-first search over recognizer states
// (whitespace never helps); 1 found, 0 none exists, -1 gave up.
int completable(const JsonSchemaRecognizer& r) {
  static const char kAlphabet[] = "{}[]\":,-0123456789.eEtrufalsnabcdgimx";
  std::vector<JsonSchemaRecognizer> frontier{r};
  std::set<std::string> seen;
  while (!frontier.empty()) {
    std::vector<JsonSchemaRecognizer> next;
    for (const JsonSchemaRecognizer& state : frontier) {
      if (state.complete()) return 1;
      for (const char* c = kAlphabet; *c; ++c) {
        JsonSchemaRecognizer t = state;
        if (!t.feed(static_cast<uint8_t>(*c))) continue;
        if (!seen.insert(std::string(reinterpret_cast<const char*>(&t), sizeof t)).second) continue;
        if (seen.size() > 8000) return -1;
        next.push_back(t);
      }
    }
    frontier.swap(next);
  }
  return 0;
}

}  // namespace

TEST(randomized_against_reference) {
  Gen gen;
  int valid_docs = 0, mutants = 0, mutants_valid = 0, gave_up = 0;
  const int kSchemas = 1500;
  for (int iter = 0; iter < kSchemas; ++iter) {
    const TSchema ts = gen.schema(1);
    const std::string text = gen.schema_text(ts);
    std::shared_ptr<const JsonSchema> schema;
    try {
      schema = JsonSchema::compile(text);
    } catch (const std::exception& e) {
      ::testing::report_failure(__FILE__, __LINE__, std::string(e.what()) + " in " + text);
      continue;
    }
    for (int k = 0; k < 4; ++k) {
      const std::string doc = gen.ws() + gen.value(ts) + gen.ws();
      ++valid_docs;
      if (reference_valid(ts, doc) != 1) {
        ::testing::report_failure(__FILE__, __LINE__, "generator bug: " + doc + " for " + text);
        continue;
      }
      // Every byte accepted; complete() after each prefix exactly when the prefix is valid.
      JsonSchemaRecognizer r(schema.get());
      for (size_t i = 0; i < doc.size(); ++i) {
        if (!r.feed(static_cast<uint8_t>(doc[i]))) {
          ::testing::report_failure(__FILE__, __LINE__,
                                    "rejected byte " + std::to_string(i) + " of " + doc +
                                        " for " + text);
          break;
        }
        const std::string prefix = doc.substr(0, i + 1);
        if (r.complete() != (reference_valid(ts, prefix) == 1)) {
          ::testing::report_failure(__FILE__, __LINE__,
                                    "complete() disagrees on prefix " + prefix + " for " + text);
          break;
        }
      }
      for (int m = 0; m < 8; ++m) {
        const std::string bad = gen.mutate(doc);
        const int want = reference_valid(ts, bad);
        if (want < 0) continue;
        ++mutants;
        mutants_valid += want;
        // Whatever prefix was accepted must still be completable (no dead ends).
        if (m == 0) {
          JsonSchemaRecognizer r2(schema.get());
          for (char c : bad)
            if (!r2.feed(static_cast<uint8_t>(c))) break;
          const int found = completable(r2);
          gave_up += found < 0;
          if (found == 0)
            ::testing::report_failure(__FILE__, __LINE__, "dead end after a prefix of " + bad +
                                                              " for " + text);
        }
        if (recognizer_valid(*schema, bad) != (want == 1))
          ::testing::report_failure(__FILE__, __LINE__,
                                    std::string(want ? "rejected valid " : "accepted invalid ") +
                                        bad + " for " + text);
      }
    }
  }
  std::printf("  %d schemas, %d valid documents, %d mutants (%d still valid), %d completion "
              "searches gave up\n", kSchemas, valid_docs, mutants, mutants_valid, gave_up);
}
