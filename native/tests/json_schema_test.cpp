// JsonSchema / JsonSchemaRecognizer: compile errors with their JSON pointers, valid documents
// byte by byte, the exact first rejected byte of invalid ones, in_string_text(), all-or-nothing
// feeds, $ref and anyOf / oneOf, "any" values ({}, objects without properties, arrays without
// items), and a randomized comparison (random schemas, matching and
// mutated instances) with a reference validator built on llm::json::parse.
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
  EXPECT_THROWS(S(R"({"anyOf":[]})"), "'anyOf' at # must be a non-empty array of schemas");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a":{"minItems":1}}})"),
                "schema at #/properties/a needs 'type', 'enum' or 'const' beside 'minItems'");
  EXPECT_THROWS(S(R"({"properties":{"a":{"type":"null"}}})"),
                "schema at # needs 'type', 'enum' or 'const' beside 'properties'");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["b"]})"),
                "'required' at # names 'b', which is not in 'properties'");
  EXPECT_THROWS(S(R"({"type":"object","required":"a"})"), "'required' at # must be an array");
  EXPECT_THROWS(S(R"({"type":"object","additionalProperties":{"type":"string"}})"),
                "'additionalProperties' at # is not supported unless true or false");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a":{"type":"null"}},)"
                  R"("additionalProperties":true})"),
                "'additionalProperties' at # is not supported beside 'properties' unless false");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"a":{"type":"null"}},)"
                  R"("additionalProperties":{"type":"null"}})"),
                "'additionalProperties' at # is not supported unless true or false");
  EXPECT_THROWS(S(R"({"type":"array","items":false})"),
                "the schema at #/items must be an object or true");
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
  EXPECT_THROWS(S(R"(false)"), "the schema at # must be an object or true");
  EXPECT_THROWS(S(R"(1)"), "the schema at # must be an object or true");
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
  // With properties but none listed, or additionalProperties false: only {}.
  expect_reject_at(R"({"type":"object","properties":{}})", R"({"a":1})", 1);
  expect_reject_at(R"({"type":"object","additionalProperties":false})", R"({"a":1})", 1);
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
  recognizer_checks::expect_string_text_absorbs(s);
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

// ---- $ref and anyOf / oneOf, as Pydantic and zod emit them ----

namespace {

// Rejects the byte right after `prefix`.
void reject_after(const std::string& schema_text, const std::string& prefix,
                  const std::string& rest) {
  expect_reject_at(schema_text, prefix + rest, static_cast<int>(prefix.size()));
}

// Pydantic model_json_schema() of Person(name, home: Address, work: Address | None, ...).
const char* const kPydantic =
    R"({"$defs":{)"
    R"("Address":{"properties":{"street":{"title":"Street","type":"string"},)"
    R"("zip":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Zip"}},)"
    R"("required":["street"],"title":"Address","type":"object"},)"
    R"("Color":{"enum":["red","green"],"title":"Color","type":"string"}},)"
    R"("properties":{"name":{"title":"Name","type":"string"},)"
    R"("home":{"$ref":"#/$defs/Address"},)"
    R"("work":{"anyOf":[{"$ref":"#/$defs/Address"},{"type":"null"}],"default":null},)"
    R"("color":{"$ref":"#/$defs/Color","description":"favourite"},)"
    R"("shade":{"anyOf":[{"$ref":"#/$defs/Color"},{"type":"null"}],"default":null},)"
    R"("age":{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null,"title":"Age"},)"
    R"("tags":{"anyOf":[{"items":{"type":"string"},"maxItems":2,"type":"array"},{"type":"null"}]},)"
    R"("id":{"anyOf":[{"type":"integer"},{"type":"string"}],"title":"Id"}},)"
    R"("required":["name","home"],"title":"Person","type":"object"})";

}  // namespace

TEST(ref_pydantic_defs) {
  expect_valid(kPydantic, R"({"name":"A","home":{"street":"s"}})");
  expect_valid(kPydantic,
               R"({"name":"A","home":{"street":"s","zip":null},"work":{"zip":"1","street":"w"},)"
               R"("color":"red","shade":null,"age":null,"tags":["a","b"],"id":5})");
  expect_valid(kPydantic, R"({"id":"x","work":null,"shade":"green","age":-3,"tags":null,)"
                          R"("home":{"street":""},"name":""})");
  expect_valid(kPydantic, R"({"name":"A","home":{"street":"s"},"tags":[]})");
  const std::string head = R"({"name":"A","home":{"street":"s"},)";
  reject_after(kPydantic, R"({"name":"A","home":{"zip":null)", "}}");  // street is required
  reject_after(kPydantic, R"({"name":"A","home":)", "null}");          // home is not nullable
  reject_after(kPydantic, head + R"("work":)", "true}");
  reject_after(kPydantic, head + R"("work":{")", "x\":1}");
  reject_after(kPydantic, head + R"("work":{"street":"w","zip":)", "1}}");
  reject_after(kPydantic, head + R"("color":")", "blue\"}");
  reject_after(kPydantic, head + R"("color":)", "null}");
  reject_after(kPydantic, head + R"("shade":"gr)", "ay\"}");
  reject_after(kPydantic, head + R"("shade":)", "1}");
  reject_after(kPydantic, head + R"("age":1)", ".5}");
  reject_after(kPydantic, head + R"("age":)", "\"1\"}");
  reject_after(kPydantic, head + R"("tags":["a","b")", ",\"c\"]}");
  reject_after(kPydantic, head + R"("tags":[)", "1]}");
  reject_after(kPydantic, head + R"("id":1)", ".5}");
  reject_after(kPydantic, head + R"("id":)", "null}");
}

TEST(ref_definitions_and_root_ref) {
  // zod (zodResponseFormat): the root is itself a reference, the definitions beside it.
  const char* zod = R"({"$ref":"#/definitions/Root","$schema":"x","definitions":{)"
                    R"("Root":{"type":"object","properties":{"x":{"$ref":"#/definitions/a~1b"},)"
                    R"("y":{"$ref":"#/definitions/c~0d"}},"required":["x"],)"
                    R"("additionalProperties":false},)"
                    R"("a/b":{"type":"integer"},"c~d":{"type":["string","null"]}}})";
  expect_valid(zod, R"({"x":1,"y":"s"})");
  expect_valid(zod, R"({"y":null,"x":-0})");
  reject_after(zod, R"({"x":)", "\"1\"}");
  reject_after(zod, R"({"y":null)", "}");
  // A definition nobody refers to is not compiled.
  S(R"({"type":"null","$defs":{"Unused":{"type":"string","format":"email"}}})");
}

TEST(ref_errors) {
  EXPECT_THROWS(S(R"({"$defs":{"Node":{"type":"object","properties":{"children":{)"
                  R"("type":"array","items":{"$ref":"#/$defs/Node"}}}}},"$ref":"#/$defs/Node"})"),
                "json_schema: recursive '$ref' at #/$defs/Node/properties/children/items is not "
                "supported");
  EXPECT_THROWS(S(R"({"$defs":{"A":{"type":"object","properties":{"b":{"$ref":"#/$defs/B"}}},)"
                  R"("B":{"anyOf":[{"$ref":"#/$defs/A"},{"type":"null"}]}},)"
                  R"("type":"array","items":{"$ref":"#/$defs/A"}})"),
                "recursive '$ref' at #/$defs/B/anyOf/0 is not supported");
  EXPECT_THROWS(S(R"({"$defs":{"A":{"$ref":"#/$defs/A"}},"$ref":"#/$defs/A"})"),
                "recursive '$ref' at #/$defs/A is not supported");
  for (const char* ref : {"#", "#/properties/a", "http://x.org/s.json", "s.json#/$defs/A",
                          "#/$defs/A/properties/x", "#/$defs/a~2", "#/$defs"}) {
    const std::string schema = std::string(R"({"$defs":{"A":{"type":"null"}},"type":"object",)") +
                               R"("properties":{"p":{"$ref":")" + ref + R"("}}})";
    const std::string want = std::string("'$ref' at #/properties/p is '") + ref +
                             "'; only '#/$defs/<name>' and '#/definitions/<name>' are supported";
    EXPECT_THROWS(S(schema), want.c_str());
  }
  EXPECT_THROWS(S(R"({"$defs":{"A":{"type":"null"}},"$ref":"#/$defs/B"})"),
                "'$ref' at # names '#/$defs/B', which is not defined");
  EXPECT_THROWS(S(R"({"$defs":{"A":{"type":"null"}},"$ref":"#/definitions/A"})"),
                "'$ref' at # names '#/definitions/A', which is not defined");
  EXPECT_THROWS(S(R"({"$ref":1})"), "'$ref' at # must be a string");
  EXPECT_THROWS(S(R"({"$defs":{"A":{"type":"null"}},"$ref":"#/$defs/A","type":"null"})"),
                "'$ref' at # is not supported beside 'type'");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"p":{"$defs":{},"type":"null"}}})"),
                "'$defs' at #/properties/p is not supported (only at the root)");
  EXPECT_THROWS(S(R"({"$defs":[],"type":"null"})"), "'$defs' at # must be an object");
  // Errors inside a definition name the definition.
  EXPECT_THROWS(S(R"({"$defs":{"A":{"type":"string","format":"email"}},"type":"array",)"
                  R"("items":{"$ref":"#/$defs/A"}})"),
                "'format' at #/$defs/A is not supported");
}

TEST(ref_node_cap) {
  // D<k> is an object of two D<k-1>: inlined, it has 2^(k+1) - 1 nodes.
  auto chain = [](int k) {
    std::string defs = R"("D0":{"type":"null"})";
    for (int i = 1; i <= k; ++i) {
      const std::string prev = "\"#/$defs/D" + std::to_string(i - 1) + "\"";
      defs += ",\"D" + std::to_string(i) + R"(":{"type":"object","properties":{"a":{"$ref":)" +
              prev + R"(},"b":{"$ref":)" + prev + "}}}";
    }
    return R"({"$defs":{)" + defs + R"(},"$ref":"#/$defs/D)" + std::to_string(k) + "\"}";
  };
  S(chain(11));  // 4095 nodes
  EXPECT_THROWS(S(chain(12)), "json_schema: the schema has more than 4096 nodes");
  EXPECT_THROWS(S(chain(30)), "more than 4096 nodes");  // fails fast, not after 2^31 nodes
  const std::string d2 = R"({"a":{"a":null,"b":null},"b":{"b":null}})";
  expect_valid(chain(2), d2);
}

TEST(any_of_merges_disjoint_branches) {
  // (Numbers inside arrays: a top-level number is complete after each digit.)
  const char* int_or_string =
      R"({"type":"array","items":{"anyOf":[{"type":"integer"},{"type":"string"}]}})";
  expect_valid(int_or_string, R"([12,"x",-1,""])");
  expect_reject_at(int_or_string, "[1.5]", 2);
  expect_reject_at(int_or_string, "[null]", 1);
  expect_valid(R"({"type":"array","items":{"anyOf":[{"type":"number"},{"type":"string"}]}})",
               R"(["a",1.5e3])");
  // Enum branches beside free types: each kind of value is decided by its own branch.
  const char* enum_or_null = R"({"anyOf":[{"enum":["a","b"]},{"type":"null"}],"title":"t"})";
  expect_valid(enum_or_null, R"("b")");
  expect_valid(enum_or_null, "null");
  expect_reject_at(enum_or_null, R"("c")", 1);
  expect_reject_at(enum_or_null, "1", 0);
  const char* enum_or_int = R"({"anyOf":[{"enum":["x"]},{"type":"integer"}]})";
  expect_valid(enum_or_int, R"("x")");
  expect_reject_at(enum_or_int, R"("y")", 1);
  expect_reject_at(enum_or_int, "-1.", 2);
  const char* enums =
      R"({"type":"array","items":{"anyOf":[{"enum":["a"]},{"const":1},{"type":"boolean"}]}})";
  expect_valid(enums, R"(["a",1,false])");
  expect_reject_at(enums, "[2]", 1);
  expect_reject_at(enums, "[12]", 2);
  expect_reject_at(enums, "[null]", 1);
  // Object and array branches keep their own constraints.
  const char* obj_or_arr =
      R"({"anyOf":[{"type":"object","properties":{"a":{"type":"null"}},"required":["a"]},)"
      R"({"type":"array","items":{"type":"integer"},"minItems":1}]})";
  expect_valid(obj_or_arr, R"({"a":null})");
  expect_valid(obj_or_arr, "[1,2]");
  expect_reject_at(obj_or_arr, "{}", 1);
  expect_reject_at(obj_or_arr, "[]", 1);
  expect_reject_at(obj_or_arr, R"(["a"])", 1);
  // Nested unions, and unions as array items.
  const char* nested =
      R"({"type":"array","items":{"anyOf":[{"anyOf":[{"type":"string"},{"type":"null"}]},)"
      R"({"type":"integer"}]}})";
  expect_valid(nested, R"(["a",null,3])");
  expect_reject_at(nested, "[true]", 1);
}

TEST(one_of_is_any_of) {
  const char* s = R"({"oneOf":[{"type":"integer"},{"type":"object","properties":{}}]})";
  expect_valid(s, "7");
  expect_valid(s, "{}");
  expect_reject_at(s, "7.0", 1);
  EXPECT_THROWS(S(R"({"oneOf":[{"type":"integer"},{"type":"integer"}]})"),
                "'oneOf' at # has branches that both accept integer; not supported");
}

TEST(any_of_errors) {
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"integer"},{"type":"number"}]})"),
                "json_schema: 'anyOf' at # has branches that both accept number; not supported");
  EXPECT_THROWS(S(R"({"type":"object","properties":{"p":{"anyOf":[{"type":"string"},)"
                  R"({"enum":["a"]}]}}})"),
                "'anyOf' at #/properties/p has branches that both accept string; not supported");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":["string","null"]},{"type":"null"}]})"),
                "both accept null");
  EXPECT_THROWS(S(R"({"anyOf":[{"enum":[1]},{"type":"integer"}]})"), "both accept integer");
  EXPECT_THROWS(S(R"({"anyOf":[{"enum":["a",null]},{"type":"null"}]})"), "both accept null");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"object","properties":{}},{"type":"object",)"
                  R"("properties":{"a":{"type":"null"}}}]})"),
                "both accept object");
  EXPECT_THROWS(S(R"({"anyOf":{"type":"null"}})"), "'anyOf' at # must be a non-empty array");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"null"}],"type":"null"})"),
                "'anyOf' at # is not supported beside 'type'");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"null"}],"oneOf":[{"type":"string"}]})"),
                "is not supported beside");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"null"},{"type":"string","pattern":"x"}]})"),
                "'pattern' at #/anyOf/1 is not supported");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"null"},{"minItems":1}]})"),
                "the schema at #/anyOf/1 needs 'type', 'enum' or 'const'");
  for (const char* kw : {"allOf", "not", "if"})
    EXPECT_THROWS(S(std::string("{\"") + kw + R"(":[{"type":"null"}]})"),
                  (std::string("'") + kw + "' at # is not supported").c_str());
}

// ---- Any JSON value: {}, true, annotations only, objects without properties, arrays without
// items ----

TEST(any_value_root) {
  for (const char* any : {"{}", "true", R"({"title":"t","description":"d","default":1})",
                          R"({"anyOf":[{}]})", R"({"$defs":{"A":{"title":"a"}},"$ref":"#/$defs/A"})"}) {
    expect_valid(any, R"({"a":[1,{"b":null}],"c":"x\"}","":{},"a":-1.5e3})");
    expect_valid(any, R"([1,"a",[],{},[[true]],false])");
    expect_valid(any, "{}");
    expect_valid(any, "[]");
    expect_valid(any, R"("s[{")");
    expect_valid(any, "7");
    expect_valid(any, "true");
    expect_valid(any, "null");
    expect_incomplete(any, "-");
    expect_incomplete(any, R"({"a":[1])");
    expect_reject_at(any, R"({"a":1,})", 7);
    expect_reject_at(any, "[1,]", 3);
    expect_reject_at(any, R"({"a" 1})", 5);
    expect_reject_at(any, "[1]]", 3);
    expect_reject_at(any, "{}x", 2);
    expect_reject_at(any, "[01]", 2);
    expect_reject_at(any, R"({"a":tru})", 8);
    expect_reject_at(any, "}", 0);
  }
}

TEST(any_object_and_any_array) {
  for (const char* obj : {R"({"type":"object"})", R"({"type":"object","additionalProperties":true})"}) {
    expect_valid(obj, R"({"x":1,"y":{"z":[true,false,null]},"w":"\u00e9","x":2})");
    expect_valid(obj, R"({ "a" : [ ] , "b":{ }})");
    expect_valid(obj, "{}");
    expect_reject_at(obj, "[1]", 0);
    expect_reject_at(obj, R"("a")", 0);
    expect_reject_at(obj, "null", 0);
    expect_reject_at(obj, R"({"a":1])", 6);
    expect_reject_at(obj, R"({"a":})", 5);
    expect_reject_at(obj, "{1:2}", 1);
    expect_reject_at(obj, R"({"a":{"b":1}}})", 13);
  }
  const char* arr = R"({"type":"array","minItems":2,"maxItems":3})";
  expect_valid(arr, R"([{},[1]])");
  expect_valid(arr, R"([{"a":[1,2,3,4]},"x",null])");
  expect_reject_at(arr, "[{}]", 3);
  expect_reject_at(arr, "[1,2,3,4]", 6);
  expect_reject_at(arr, "{}", 0);
  expect_valid(R"({"type":"array"})", "[]");
  expect_valid(R"({"type":"array","items":true})", R"([1,[2]])");
  const char* obj_or_null = R"({"type":["object","null"]})";
  expect_valid(obj_or_null, "null");
  expect_valid(obj_or_null, R"({"a":1})");
  expect_reject_at(obj_or_null, "[", 0);
  const char* union_ =
      R"({"anyOf":[{"type":"object"},{"type":"array","items":{"type":"integer"}}]})";
  expect_valid(union_, R"({"a":"b"})");
  expect_valid(union_, "[1]");
  expect_reject_at(union_, R"(["a"])", 1);
}

TEST(any_fields_beside_properties) {
  const char* s = R"({"type":"object","properties":{"meta":{},"tags":{"type":"array"}},)"
                  R"("required":["meta","tags"]})";
  expect_valid(s, R"({"meta":{"k":[1,{"x":"y"}],"tags":1},"tags":[1,"a",{"b":[]}]})");
  expect_valid(s, R"({"tags":[],"meta":3})");
  expect_valid(s, R"({"meta":"s","tags":[null]})");
  expect_valid(s, R"({"meta":[],"tags":[[],{}]})");
  expect_reject_at(s, R"({"meta":{},"x":1})", 12);
  expect_reject_at(s, R"({"x":1})", 2);
  expect_reject_at(s, R"({"meta":{},"tags":[],)", 20);  // every property seen
  expect_reject_at(s, R"({"meta":{}})", 10);              // tags is required
  expect_reject_at(s, R"({"tags":{}})", 8);                // tags is an array
  expect_reject_at(s, R"({"meta":{},"meta":1})", 12);      // no duplicate known keys
  // Nested any values inside schema arrays, and schema tracking resumes after them.
  const char* items = R"({"type":"array","items":{"type":"object","properties":{)"
                      R"("v":{"description":"any"},"n":{"type":"integer"}},"required":["n"]}})";
  expect_valid(items, R"([{"v":{"a":[{}]},"n":1},{"n":2,"v":[[]]},{"n":3}])");
  expect_reject_at(items, R"([{"v":{"a":[{}]},"n":1.5}])", 22);
  expect_reject_at(items, R"([{"v":[]}])", 8);
}

TEST(limits_apply_inside_any_values) {
  // Depth: 32 containers in all (the lexer counts every one).
  expect_valid("{}", std::string(32, '[') + std::string(32, ']'));
  expect_reject_at("{}", std::string(33, '['), 32);
  const char* in_array = R"({"type":"array","items":{}})";
  expect_valid(in_array, std::string(32, '[') + std::string(32, ']'));
  expect_reject_at(in_array, std::string(33, '['), 32);
  const char* field = R"({"type":"object","properties":{"a":{}}})";
  expect_reject_at(field, R"({"a":)" + std::string(32, '['), 36);
  // Whitespace runs: the 9th byte is refused.
  expect_reject_at("{}", R"({"a":)" + std::string(9, ' '), 13);
  expect_reject_at(field, R"({"a":{"b":[)" + std::string(9, '\n'), 19);
  // Number length: the 33rd byte is refused.
  expect_reject_at(field, R"({"a":[)" + std::string(33, '1'), 6 + 32);
  expect_reject_at("{}", std::string(33, '1'), 32);
}

TEST(in_string_text_inside_any_values) {
  auto schema = S(R"({"type":"object","properties":{"meta":{}}})");
  JsonSchemaRecognizer r(schema.get());
  const std::string doc = R"({"meta":{"ab":["c\"d",1]}})";
  std::string flags;
  for (char c : doc) {
    CHECK(r.feed(static_cast<uint8_t>(c)));
    flags += r.in_string_text() ? 'T' : '.';
  }
  EXPECT(r.complete());
  // Keys and values alike inside the any value, but not the schema key "meta".
  EXPECT_EQ(flags, std::string(9, '.') + "TTT..." + "TT.TT" + std::string(6, '.'));
  // Printable ASCII other than '"' and '\' leaves the state exactly as it is.
  auto any = S("{}");
  for (const auto& [sch, prefix] :
       std::vector<std::pair<const JsonSchema*, std::string>>{
           {schema.get(), R"({"meta":{"ab":["x)"}, {schema.get(), R"({"meta":{"a)"},
           {schema.get(), R"({"meta":"x)"}, {any.get(), R"("x)"}, {any.get(), R"([{"k)"},
           {any.get(), R"([{"k":"\n)"}, {any.get(), R"({"k":[1,{"":"\u00e9)"}}) {
    JsonSchemaRecognizer s(sch);
    CHECK(s.feed(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()));
    recognizer_checks::expect_string_text_absorbs(s);
    JsonSchemaRecognizer t = s;
    CHECK(t.feed('\\'));
    EXPECT(!t.in_string_text());
  }
}

TEST(any_of_with_an_any_branch_is_refused) {
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"null"},{}]})"),
                "json_schema: 'anyOf' at #/anyOf/1 accepts any value, which overlaps the other "
                "branches; not supported");
  EXPECT_THROWS(S(R"({"oneOf":[true,{"type":"string"}]})"),
                "'oneOf' at #/oneOf/0 accepts any value");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"string"},{"title":"x"}]})"),
                "'anyOf' at #/anyOf/1 accepts any value");
  EXPECT_THROWS(S(R"({"$defs":{"A":{}},"anyOf":[{"type":"string"},{"$ref":"#/$defs/A"}]})"),
                "'anyOf' at #/anyOf/1 accepts any value");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"object"},{"type":"object","properties":{}}]})"),
                "both accept object");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"array"},{"type":"array","items":{"type":"null"}}]})"),
                "both accept array");
}

// ---- Randomized comparison with a reference validator ----

namespace {

struct TSchema {
  std::vector<std::string> types;        // empty when enum_texts decides
  std::vector<std::string> enum_texts;   // canonical JSON texts
  std::vector<std::string> names;
  std::vector<TSchema> children;
  std::vector<bool> required;
  std::vector<TSchema> items;            // 0 or 1 (0 in an array: items of any value)
  int min_items = -1, max_items = -1;
  std::vector<TSchema> any_of;           // when not empty, the branches decide (types are unused)
  bool any = false;                      // any value ({}, true or annotations only)
  bool open = false;                     // an object without properties: any object
};

// Whether `s` reads some object lexically (where duplicate keys pass).
bool has_open(const TSchema& s) {
  if (s.any || s.open || (s.types.size() == 1 && s.types[0] == "array" && s.items.empty()))
    return true;
  for (const auto* list : {&s.children, &s.items, &s.any_of})
    for (const TSchema& c : *list)
      if (has_open(c)) return true;
  return false;
}

struct Gen {
  std::mt19937 rng{20261127};
  int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
  bool coin() { return pick(2) == 0; }

  static bool accepts_null(const TSchema& s) {
    return s.any || std::find(s.types.begin(), s.types.end(), "null") != s.types.end() ||
           std::find(s.enum_texts.begin(), s.enum_texts.end(), "null") != s.enum_texts.end();
  }

  TSchema schema(int depth) {
    TSchema s;
    if (pick(8) == 0) {  // nullable, as Pydantic writes Optional[X]: anyOf [X, null]
      TSchema x;
      do x = schema(depth); while (accepts_null(x) || !x.any_of.empty());
      TSchema null_branch;
      null_branch.types = {"null"};
      s.any_of = {x, null_branch};
      if (coin()) std::swap(s.any_of[0], s.any_of[1]);
      return s;
    }
    if (pick(12) == 0) {
      s.any = true;
      return s;
    }
    // Objects and arrays only above depth 4; the root is mostly an object.
    const int kind = depth == 1 ? (pick(4) ? 0 : pick(8)) : depth >= 4 ? 4 + pick(4) : pick(8);
    static const char* const kEnum[] = {"\"red\"", "\"re\"", "\"green\"", "\"\"", "1", "12", "-3",
                                        "2.5", "0", "true", "false", "null"};
    static const char* const kNames[] = {"a", "ab", "abc", "b", "name", "id", "x", "tags"};
    static const char* const kScalars[] = {"string", "number", "integer", "boolean", "null"};
    switch (kind) {
      case 0: case 1: {  // object
        s.types = {"object"};
        if (pick(5) == 0) {
          s.open = true;
          break;
        }
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
        if (pick(4)) s.items.push_back(schema(depth + 1));
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
    if (s.any) {
      static const char* const kAny[] = {"{}", "true", R"({"description":"d"})",
                                         R"({"title":"t","default":null})"};
      return kAny[pick(4)];
    }
    if (coin()) parts.push_back(R"("description":"d")");
    if (s.open && coin()) parts.push_back(R"("additionalProperties":true)");
    if (!s.any_of.empty()) {
      parts.push_back(std::string(coin() ? "\"anyOf\"" : "\"oneOf\"") + ":[" +
                      schema_text(s.any_of[0]) + "," + schema_text(s.any_of[1]) + "]");
      if (coin()) parts.push_back(R"("default":null)");
      std::shuffle(parts.begin(), parts.end(), rng);
      return "{" + join(parts) + "}";
    }
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
    if (s.types.size() == 1 && s.types[0] == "object" && !s.open) {
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

  std::string string_value() {
    static const char* const kPieces[] = {"a", "Z", " ", "0", "\\\"", "\\\\", "\\n", "\\u00e9",
                                          "\\/", "{", "]", ":", ",", "'"};
    std::string out = "\"";
    for (int n = pick(6); n > 0; --n) out += kPieces[pick(14)];
    return out + "\"";
  }

  // Any JSON value, containers nested at most `depth` deep.
  std::string any_value(int depth) {
    switch (depth > 0 ? pick(7) : 2 + pick(5)) {
      case 0: return any_object(depth);
      case 1: {
        const int n = pick(4);
        std::string out = "[";
        for (int i = 0; i < n; ++i) out += (i ? "," : "") + ws() + any_value(depth - 1) + ws();
        return out + (n == 0 ? ws() : "") + "]";
      }
      case 2: return string_value();
      case 3: return (coin() ? "-" : "") + digits(4) + (coin() ? ".5" : "") + (coin() ? "e-2" : "");
      case 4: return coin() ? "true" : "false";
      case 5: return "null";
      default: return "0";
    }
  }

  std::string any_object(int depth) {
    static const char* const kKeys[] = {"k", "key", "\\u00e9", "", "a b", "{"};
    std::vector<int> keys = {0, 1, 2, 3, 4, 5};
    std::shuffle(keys.begin(), keys.end(), rng);
    const int n = pick(4);
    std::string out = "{";
    for (int i = 0; i < n; ++i)
      out += (i ? "," : "") + ws() + "\"" + kKeys[keys[static_cast<size_t>(i)]] + "\"" + ws() +
             ":" + ws() + any_value(depth - 1) + ws();
    return out + (n == 0 ? ws() : "") + "}";
  }

  std::string value(const TSchema& s) {
    if (s.any) return any_value(3);
    if (!s.any_of.empty()) return value(s.any_of[pick(2)]);
    if (!s.enum_texts.empty()) return s.enum_texts[pick(static_cast<int>(s.enum_texts.size()))];
    const std::string& t = s.types[pick(static_cast<int>(s.types.size()))];
    if (t == "object" && s.open) return any_object(3);
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
      for (int i = 0; i < n; ++i)
        out += (i ? "," : "") + ws() + (s.items.empty() ? any_value(3) : value(s.items[0])) + ws();
      return out + (n == 0 ? ws() : "") + "]";
    }
    if (t == "string") return string_value();
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

  static size_t count_numbers(const json::Value& v) {
    size_t n = v.is_number() ? 1 : 0;
    if (v.is_array())
      for (const json::Value& item : v.items()) n += count_numbers(item);
    if (v.is_object())
      for (const auto& member : v.members()) n += count_numbers(member.second);
    return n;
  }

  bool check(const TSchema& s, const json::Value& v) {
    if (s.any || (s.open && v.is_object()) ) {
      next += count_numbers(v);
      return true;
    }
    if (!s.any_of.empty()) {
      const size_t at = next;  // each branch reads the same number tokens
      for (const TSchema& b : s.any_of) {
        next = at;
        if (check(b, v)) return true;
      }
      return false;
    }
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
        for (const json::Value& item : v.items()) {
          if (s.items.empty()) next += count_numbers(item);
          else if (!check(s.items[0], item)) return false;
        }
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
    // Duplicate keys in an object read lexically pass (JSON allows them; json::parse does not).
    if (std::strstr(e.what(), "duplicate key") && has_open(s)) return -1;
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

// ---- Tagged unions: objects told apart by a required const / enum string property ----

namespace {

// Pydantic: pet: Cat | Dog = Field(discriminator='kind'), with the members in $defs.
const char* const kPets =
    R"({"$defs":{)"
    R"("Cat":{"properties":{"kind":{"const":"cat"},"meows":{"type":"boolean"}},)"
    R"("required":["kind","meows"],"type":"object"},)"
    R"("Dog":{"properties":{"barks":{"type":"integer"},"kind":{"enum":["dog","puppy"]},)"
    R"("name":{"type":"string"}},"required":["kind"],"type":"object"}},)"
    R"("properties":{"pet":{"oneOf":[{"$ref":"#/$defs/Cat"},{"$ref":"#/$defs/Dog"}],)"
    R"("discriminator":{"propertyName":"kind"}}},"required":["pet"],"type":"object"})";

// Calls to one of several tools, as tool_choice 'required' builds them.
const char* const kToolCalls =
    R"({"anyOf":[)"
    R"({"type":"object","properties":{"name":{"const":"get_weather"},)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},)"
    R"("required":["name","parameters"]},)"
    R"({"type":"object","properties":{"name":{"const":"get_time"},)"
    R"("parameters":{"type":"object","properties":{"zone":{"enum":["utc","local"]}},"required":["zone"]}},)"
    R"("required":["name","parameters"]}]})";

}  // namespace

TEST(tagged_union_picks_the_branch_by_its_discriminator) {
  const std::string pets = std::string(kPets);
  // (Pydantic's 'discriminator' keyword is an OpenAPI annotation here: accepted, ignored.)
  for (const char* doc : {R"({"pet":{"kind":"cat","meows":true}})", R"({"pet":{"kind":"dog"}})",
                          R"({"pet":{"kind":"puppy","name":"Rex","barks":3}})",
                          R"({ "pet" : { "kind" : "dog" , "barks" : 1 } })"})
    expect_valid(pets, doc);
  reject_after(pets, R"({"pet":{"kind":"cat",")", R"(barks":1}})");   // a Dog field in a Cat
  reject_after(pets, R"({"pet":{"kind":"dog",")", R"(meows":true}})");  // and the other way
  reject_after(pets, R"({"pet":{"kind":"cat")", "}}");                  // Cat requires meows
  reject_after(pets, R"({"pet":{"kind":")", R"(bird"}})");              // no such branch
  reject_after(pets, R"({"pet":{")", R"(meows":true,"kind":"cat"}})");  // the discriminator first
  reject_after(pets, R"({"pet":{)", "}}");
  reject_after(pets, R"({"pet":{"kind":"dog",")", R"(kind":"dog"}})");  // seen already
  expect_incomplete(pets, R"({"pet":{"kind":"puppy")");

  const std::string tools = kToolCalls;
  expect_valid(tools, R"({"name":"get_weather","parameters":{"city":"Oslo"}})");
  expect_valid(tools, R"({"name":"get_time","parameters":{"zone":"utc"}})");
  reject_after(tools, R"({"name":"get_time","parameters":{")", R"(city":"Oslo"}})");
  reject_after(tools, R"({"name":"get_)", R"(date"})");
}

TEST(tagged_union_errors) {
  // Shared values, a discriminator that is optional or not a string const, non-object branches.
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"object","properties":{"t":{"const":"a"}},"required":["t"]},)"
                  R"({"type":"object","properties":{"t":{"enum":["b","a"]}},"required":["t"]}]})"),
                "'anyOf' at #: branches share the 't' value \"a\"");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":"object","properties":{"t":{"const":"a"}}},)"
                  R"({"type":"object","properties":{"t":{"const":"b"}},"required":["t"]}]})"),
                "'t' in branch 0 must be required and have string const / enum values");
  EXPECT_THROWS(S(R"({"oneOf":[{"type":"object","properties":{"t":{"const":1}},"required":["t"]},)"
                  R"({"type":"object","properties":{"t":{"const":2}},"required":["t"]}]})"),
                "must be required and have string const / enum values");
  EXPECT_THROWS(S(R"({"anyOf":[{"type":["object","null"],"properties":{"t":{"const":"a"}},"required":["t"]},)"
                  R"({"type":"object","properties":{"t":{"const":"b"}},"required":["t"]}]})"),
                "branch 0 must be an object schema with 'properties'");
}

TEST(compile_cached_reuses_the_compiled_schema) {
  const std::string a = R"({"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]})";
  const auto first = JsonSchema::compile_cached(a);
  EXPECT(JsonSchema::compile_cached(a) == first);
  EXPECT(JsonSchema::compile_cached(std::string(a)) == first);  // by text, not by address
  EXPECT(JsonSchema::compile_cached(R"({"type":"string"})") != first);
  EXPECT_THROWS(JsonSchema::compile_cached(R"({"type":"strong"})"), "'type' at #/type");
  EXPECT_THROWS(JsonSchema::compile_cached(R"({"type":"strong"})"), "'type' at #/type");  // not cached
  // The least recently used ones leave once 64 others came.
  for (int i = 0; i < 64; ++i) JsonSchema::compile_cached(R"({"const":)" + std::to_string(i) + "}");
  EXPECT(JsonSchema::compile_cached(a) != first);
  EXPECT(JsonSchema::compile_cached(a) == JsonSchema::compile_cached(a));
  expect_valid(a, R"({"x":1})");
}
