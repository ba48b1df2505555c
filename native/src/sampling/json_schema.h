// Constrained decoding for response_format {"type": "json_schema"}: a JSON Schema subset compiled
// into a flat node table, and an incremental recognizer of one JSON value that matches it.
//
// Supported: type (one name or a union of object/array/string/number/integer/boolean/null),
// properties, required, additionalProperties (see below), items, minItems, maxItems, enum and
// const (strings, numbers, booleans, null; matched byte-exact against their canonical JSON text),
// and the annotations title/description/default/examples/$schema/$id/$comment/strict/name/
// discriminator (OpenAPI's, as Pydantic writes it beside a tagged union).
// Any JSON value where JSON Schema means it:
//  - the schema {} or true, or one with only annotations: any value;
//  - an object without 'properties' (additionalProperties absent or true): any object;
//  - an array without 'items': items of any value (minItems / maxItems still apply).
// An object with 'properties' is closed (additionalProperties absent or false), as in OpenAI's
// strict mode; additionalProperties true or a schema beside 'properties' is refused.
// Also, as Pydantic and zod emit them:
//  - $ref to "#/$defs/<name>" or "#/definitions/<name>" (definitions at the root only), inlined;
//    only annotations beside it; recursive references are refused.
//  - anyOf / oneOf whose branches accept disjoint JSON types (number and integer count as one),
//    merged into one node decided by the value's first byte; only annotations beside it.
//  - anyOf / oneOf of objects told apart by a discriminator: a property every branch requires,
//    with const / enum string values that no two branches share (Pydantic's tagged unions, a
//    call to one of several tools). The output writes the discriminator first; its value picks
//    the branch for the rest of the object.
// Anything else is a compile error that names the keyword and its JSON pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "sampling/json_recognizer.h"

namespace llm {

// A JSON Schema subset compiled for constrained decoding (immutable, shared by sequences).
class JsonSchema {
 public:
  // Parses and compiles a JSON Schema document. Throws llm::Error naming the problem and where,
  // e.g. "json_schema: 'patternProperties' at #/properties/tags is not supported".
  static std::shared_ptr<const JsonSchema> compile(const std::string& schema_text);
  // compile() through a process-wide cache of the most recently used schemas (by their text):
  // requests that repeat a schema (the same tools on every call, n > 1) compile it once.
  // Thread-safe; errors are not cached.
  static std::shared_ptr<const JsonSchema> compile_cached(const std::string& schema_text);

 private:
  friend class JsonSchemaRecognizer;
  friend class JsonSchemaCompiler;

  enum TypeBit : uint8_t {
    kObject = 1, kArray = 2, kString = 4, kNumber = 8, kInteger = 16, kBoolean = 32, kNull = 64,
  };
  static constexpr uint8_t kAllTypes = 127;
  struct Node {
    uint8_t types = 0;         // TypeBit mask of the types read freely
    uint8_t open = 0;          // kObject / kArray: such a container holds anything (read lexically)
    uint8_t enum_types = 0;    // TypeBit mask of the types that must be one of the enum texts
    uint32_t enum_begin = 0;   // [enum_begin, enum_end) in enums_, sorted
    uint32_t enum_end = 0;
    uint32_t prop_begin = 0;   // [prop_begin, prop_end) in props_, sorted by name
    uint32_t prop_end = 0;
    uint64_t required = 0;     // bit i: props_[prop_begin + i] is required
    uint16_t items = 0;        // node of the array items
    uint32_t min_items = 0;
    uint32_t max_items = UINT32_MAX;
    // A discriminated union: an object whose one property (the discriminator) comes first;
    // [branch_begin, branch_end) in branches_, parallel to that property's sorted enum texts.
    uint32_t branch_begin = 0;
    uint32_t branch_end = 0;
  };
  struct Branch {
    uint16_t node = 0;         // the branch's object node
    uint8_t key = 0;           // the discriminator's property index in that node
  };
  struct Property {
    std::string name;          // raw bytes (never needs escaping in JSON)
    uint16_t node = 0;
  };

  JsonSchema() = default;

  std::vector<Node> nodes_;          // nodes_[0] is the root
  std::vector<Property> props_;
  std::vector<std::string> enums_;   // canonical JSON text of each enum value
  std::vector<Branch> branches_;
};

// Recognizes one JSON value matching a JsonSchema, byte by byte; same contract as JsonRecognizer.
// Copyable and small (no heap); the caller keeps the schema alive.
class JsonSchemaRecognizer {
 public:
  static constexpr int kMaxDepth = 32;

  explicit JsonSchemaRecognizer(const JsonSchema* schema);
  bool feed(uint8_t byte);                      // false: rejected, state unchanged
  bool feed(const uint8_t* bytes, size_t n);    // all or nothing
  bool complete() const;                        // a whole matching value has been read
  // True only inside the content of a free string (type string without enum/const; not a key of
  // a schema object) or of any string (key or value) within an "any" container: there every
  // printable ASCII byte other than '"' and '\\' is accepted and leaves the state exactly as it is.
  bool in_string_text() const {
    return (mode_ == kFreeString || mode_ == kAnyText) && lex_.in_string_text();
  }

 private:
  enum Mode : uint8_t {
    kValue,        // a value of node_ (after ':' or ',' in an array, or at the start)
    kItemOrClose,  // after '[': an item or ']'
    kKeyOrClose,   // after '{': a key or '}'
    kKey,          // after ',' in an object: a key
    kKeyText,      // inside a key: match_ narrows the properties of the object
    kColon,        // after a key (key_ is its property)
    kAfterValue,   // ',' or the close of the enclosing container
    kDone,         // the top-level value has ended
    kFreeString,   // inside a string value without enum
    kEnumText,     // inside an enum value of node_: match_ narrows its texts
    kNumberText,   // inside a number value of node_ without enum
    kLiteralText,  // inside true/false/null without enum
    kAnyText,      // inside an open container: only the lexer decides until it closes
  };
  // A range [lo, hi) of sorted strings (property names or enum texts) that all start with the
  // `pos` bytes read so far.
  struct Match {
    uint16_t lo = 0, hi = 0;
    uint32_t pos = 0;
  };

  // Advances by one byte; may leave a half-updated state on false (feed() works on a copy).
  bool step(uint8_t byte);
  bool between_tokens(uint8_t byte);
  bool start_value(uint16_t node, uint8_t byte);
  bool enum_byte(uint8_t byte);
  bool enum_may_end() const;
  bool open(bool object);
  void close();
  void end_value();
  bool unseen_in(uint32_t lo, uint32_t hi) const;
  const JsonSchema::Node& top() const { return schema_->nodes_[frames_[depth_ - 1]]; }

  const JsonSchema* schema_;
  JsonRecognizer lex_;              // the lexical side: strings, numbers, literals, limits
  uint64_t data_[kMaxDepth] = {};   // per open container: seen-property mask or item count
  uint16_t frames_[kMaxDepth] = {}; // per open container: its node
  uint32_t objects_ = 0;            // bit i: the container at depth i + 1 is an object
  Match match_;
  uint16_t node_ = 0;               // the node of the value being read
  uint8_t depth_ = 0;
  uint8_t key_ = 0;                 // property index (in its object) of the last key
  uint8_t any_depth_ = 0;           // kAnyText: containers open within the open container, + 1
  Mode mode_ = kValue;
};

static_assert(std::is_trivially_copyable<JsonSchemaRecognizer>::value,
              "callers copy the recognizer to try a token");

}  // namespace llm
