#include "sampling/json_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "llm/error.h"
#include "model/json.h"

namespace llm {

namespace {

constexpr int kMaxSchemaDepth = 32;
constexpr size_t kMaxProperties = 64;  // the seen-property mask is one 64-bit word

bool is_ws(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }
bool is_digit(uint8_t b) { return b >= '0' && b <= '9'; }
bool is_number_byte(uint8_t b) {
  return is_digit(b) || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E';
}
bool is_number_text(const std::string& text) {
  return !text.empty() && (text[0] == '-' || is_digit(static_cast<uint8_t>(text[0])));
}

template <size_t N>
bool is_one_of(const std::string& key, const char* const (&names)[N]) {
  return std::find_if(std::begin(names), std::end(names),
                      [&](const char* n) { return key == n; }) != std::end(names);
}

bool is_keyword(const std::string& key) {
  static const char* const kNames[] = {"type", "properties", "required", "additionalProperties",
                                       "items", "minItems", "maxItems", "enum", "const"};
  return is_one_of(key, kNames);
}

// Accepted and ignored.
bool is_annotation(const std::string& key) {
  static const char* const kNames[] = {"title", "description", "default", "examples", "$schema",
                                       "$id", "$comment", "strict", "name", "discriminator"};
  return is_one_of(key, kNames);
}

// One JSON pointer reference token (RFC 6901).
std::string pointer_token(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string quote_json(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// The shortest text that reads back as `v` (integers without fraction or exponent).
std::string number_text(const json::Value& v) {
  if (v.is_integer()) return std::to_string(v.as_int64());
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v.as_number());
    if (std::strtod(buf, nullptr) == v.as_number()) break;
  }
  return buf;
}

// Narrows `m` (a range of sorted texts sharing their first m.pos bytes) to those whose next byte
// is `byte`; false (and `m` as it was) when none is. Binary search: in the range, texts that end
// at m.pos come first, then the rest ordered by their byte at m.pos.
template <typename TextAt>
bool narrow(uint16_t& lo_io, uint16_t& hi_io, uint32_t& pos_io, uint8_t byte, TextAt text_at) {
  const uint32_t pos = pos_io;
  auto before = [&](uint32_t i) {
    const std::string& t = text_at(i);
    return t.size() <= pos || static_cast<uint8_t>(t[pos]) < byte;
  };
  auto equal = [&](uint32_t i) { return static_cast<uint8_t>(text_at(i)[pos]) == byte; };
  // The first index in [lo, hi) where pred turns false (pred is true on a prefix).
  auto partition = [](uint32_t lo, uint32_t hi, auto pred) {
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (pred(mid)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const uint32_t lo = partition(lo_io, hi_io, before);
  const uint32_t hi = partition(lo, hi_io, equal);
  if (lo == hi) return false;
  lo_io = static_cast<uint16_t>(lo);
  hi_io = static_cast<uint16_t>(hi);
  pos_io = pos + 1;
  return true;
}

}  // namespace

// Builds the node table depth first; a node's properties are appended after its children's, so
// each object's properties stay contiguous. A $ref is inlined (its definition compiled again
// where it is used), and an anyOf / oneOf is merged into one node.
class JsonSchemaCompiler {
 public:
  using Node = JsonSchema::Node;

  JsonSchemaCompiler(JsonSchema& schema, const json::Value& root) : s_(schema), root_(root) {}

  uint16_t compile(const json::Value& v, const std::string& path, int depth) {
    // Inlining may copy a definition many times over (exponentially in the nesting of $refs).
    if (s_.nodes_.size() >= kMaxNodes)
      fail("the schema has more than " + std::to_string(kMaxNodes) +
           " nodes (each '$ref' counts as a copy of its definition)");
    const auto index = static_cast<uint16_t>(s_.nodes_.size());
    s_.nodes_.emplace_back();
    const Node node = build(v, path, depth);
    s_.nodes_[index] = node;
    return index;
  }

  [[noreturn]] static void fail(const std::string& message) {
    throw Error("json_schema: " + message);
  }

 private:
  static constexpr size_t kMaxNodes = 4096;

  // Any JSON value: every type read freely, containers read lexically.
  static Node any_node() {
    Node node;
    node.types = JsonSchema::kAllTypes;
    node.open = JsonSchema::kObject | JsonSchema::kArray;
    return node;
  }
  static bool is_any(const Node& n) { return n.open & JsonSchema::kArray; }  // only any_node()

  // The index of one shared any node, added on first use.
  uint16_t compile_any() {
    if (any_index_ < 0) {
      if (s_.nodes_.size() >= kMaxNodes)
        fail("the schema has more than " + std::to_string(kMaxNodes) +
             " nodes (each '$ref' counts as a copy of its definition)");
      any_index_ = static_cast<int>(s_.nodes_.size());
      s_.nodes_.push_back(any_node());
    }
    return static_cast<uint16_t>(any_index_);
  }

  // The node of the schema `v`; its children (not the node itself) are added to the table.
  Node build(const json::Value& v, const std::string& path, int depth) {
    if (depth > kMaxSchemaDepth)
      fail("the schema at " + path + " is nested deeper than " + std::to_string(kMaxSchemaDepth));
    if (v.is_bool() && v.as_bool()) return any_node();
    if (!v.is_object()) fail("the schema at " + path + " must be an object or true");
    const bool root = &v == &root_;
    for (const auto& [key, sub] : v.members()) {
      if (is_definitions(key)) {
        if (!root) fail("'" + key + "' at " + path + " is not supported (only at the root)");
        if (!sub.is_object()) fail("'" + key + "' at " + path + " must be an object");
      } else if (!is_keyword(key) && !is_annotation(key) && key != "$ref" && key != "anyOf" &&
                 key != "oneOf") {
        fail("'" + key + "' at " + path + " is not supported");
      }
    }
    if (const json::Value* ref = v.find("$ref")) return build_ref(*ref, v, path, depth);
    if (const json::Value* list = v.find("anyOf"))
      return build_union(*list, "anyOf", v, path, depth);
    if (const json::Value* list = v.find("oneOf"))
      return build_union(*list, "oneOf", v, path, depth);

    Node node;
    const json::Value* type = v.find("type");
    const uint8_t type_mask = type ? types(*type, path + "/type") : 0;
    compile_enum(v, path, node);
    if (!type && !node.enum_types) {
      // Only annotations (or nothing): any value. A keyword without a type is refused as before.
      for (const auto& member : v.members())
        if (is_keyword(member.first))
          fail("the schema at " + path + " needs 'type', 'enum' or 'const' beside '" +
               member.first + "'");
      return any_node();
    }
    node.types = node.enum_types ? 0 : type_mask;  // an enum decides alone

    if ((type_mask & JsonSchema::kObject) || v.find("properties") || v.find("required") ||
        v.find("additionalProperties"))
      compile_object(v, path, depth, node);

    const json::Value* items = v.find("items");
    if (items) {
      if (!items->is_object() && !items->is_bool())
        fail("'items' at " + path + " must be a schema object (tuples are not supported)");
      node.items = compile(*items, path + "/items", depth + 1);
    } else if ((type_mask & JsonSchema::kArray) && !node.enum_types) {
      node.items = compile_any();  // no 'items': any items, still counted for minItems/maxItems
    }
    node.min_items = count(v, "minItems", path, 0);
    node.max_items = count(v, "maxItems", path, UINT32_MAX);
    if (node.max_items < node.min_items)
      fail("'maxItems' at " + path + " is less than 'minItems'");
    return node;
  }

  static bool is_definitions(const std::string& key) {
    return key == "$defs" || key == "definitions";
  }

  // $ref, anyOf and oneOf: only annotations (and, at the root, the definitions) beside them.
  void alone(const json::Value& v, const std::string& keyword, const std::string& path) const {
    for (const auto& member : v.members()) {
      const std::string& key = member.first;
      if (key != keyword && !is_annotation(key) && !(&v == &root_ && is_definitions(key)))
        fail("'" + keyword + "' at " + path + " is not supported beside '" + key + "'");
    }
  }

  Node build_ref(const json::Value& ref, const json::Value& v, const std::string& path,
                 int depth) {
    alone(v, "$ref", path);
    if (!ref.is_string()) fail("'$ref' at " + path + " must be a string");
    const std::string& target = ref.as_string();
    const json::Value* def = resolve(target, path);
    if (std::find(active_.begin(), active_.end(), def) != active_.end())
      fail("recursive '$ref' at " + path + " is not supported");
    active_.push_back(def);
    // The reference is its definition's JSON pointer: errors inside name the definition.
    const Node node = build(*def, target, depth);
    active_.pop_back();
    return node;
  }

  // The definition "#/$defs/<name>" or "#/definitions/<name>" refers to.
  const json::Value* resolve(const std::string& target, const std::string& path) const {
    for (const std::string defs : {"$defs", "definitions"}) {
      const std::string prefix = "#/" + defs + "/";
      if (target.compare(0, prefix.size(), prefix) != 0) continue;
      std::string name;  // the reference token, unescaped (RFC 6901)
      bool ok = true;
      for (size_t i = prefix.size(); ok && i < target.size(); ++i) {
        const char c = target[i];
        if (c == '/') ok = false;  // a pointer into a definition
        else if (c != '~') name += c;
        else if (i + 1 < target.size() && (target[i + 1] == '0' || target[i + 1] == '1'))
          name += target[++i] == '0' ? '~' : '/';
        else ok = false;
      }
      if (!ok) break;
      const json::Value* table = root_.is_object() ? root_.find(defs) : nullptr;
      const json::Value* def = table && table->is_object() ? table->find(name) : nullptr;
      if (!def) fail("'$ref' at " + path + " names '" + target + "', which is not defined");
      return def;
    }
    fail("'$ref' at " + path + " is '" + target +
         "'; only '#/$defs/<name>' and '#/definitions/<name>' are supported");
  }

  // Number and integer are one kind here: a value's first byte cannot tell them apart.
  static uint8_t kinds(uint8_t types) {
    return (types & JsonSchema::kInteger) ? (types | JsonSchema::kNumber) & ~JsonSchema::kInteger
                                          : types;
  }

  static std::string type_name(uint8_t bit) {
    static const char* const kNames[] = {"object", "array", "string", "number",
                                         "integer", "boolean", "null"};
    int i = 0;
    while (!(bit & (1u << i))) ++i;
    return kNames[i];
  }

  // Branches that accept disjoint kinds of value merge into one node decided by the first byte;
  // each kind keeps the constraints of its branch.
  Node build_union(const json::Value& list, const std::string& keyword, const json::Value& v,
                   const std::string& path, int depth) {
    alone(v, keyword, path);
    if (!list.is_array() || list.items().empty())
      fail("'" + keyword + "' at " + path + " must be a non-empty array of schemas");
    const std::string tag = discriminator(list);
    if (!tag.empty()) return build_tagged_union(list, keyword, tag, path, depth);
    Node merged;
    std::vector<std::string> texts;
    int enum_branches = 0;
    for (size_t i = 0; i < list.items().size(); ++i) {
      const Node b = build(list.items()[i], path + "/" + keyword + "/" + std::to_string(i), depth);
      if (is_any(b) && list.items().size() > 1)
        fail("'" + keyword + "' at " + path + "/" + keyword + "/" + std::to_string(i) +
             " accepts any value, which overlaps the other branches; not supported");
      const uint8_t had = merged.types | merged.enum_types;
      const uint8_t has = b.types | b.enum_types;
      if (kinds(had) & kinds(has)) {
        const uint8_t both = had & has;  // none when one says number and the other integer
        fail("'" + keyword + "' at " + path + " has branches that both accept " +
             (both ? type_name(both) : std::string("number")) + "; not supported");
      }
      merged.types |= b.types;
      merged.open |= b.open;
      merged.enum_types |= b.enum_types;
      if (b.types & JsonSchema::kObject) {
        merged.prop_begin = b.prop_begin;
        merged.prop_end = b.prop_end;
        merged.required = b.required;
      }
      if (b.types & JsonSchema::kArray) {
        merged.items = b.items;
        merged.min_items = b.min_items;
        merged.max_items = b.max_items;
      }
      if (b.enum_types) {
        texts.insert(texts.end(), s_.enums_.begin() + b.enum_begin, s_.enums_.begin() + b.enum_end);
        merged.enum_begin = b.enum_begin;
        merged.enum_end = b.enum_end;
        ++enum_branches;
      }
    }
    if (enum_branches > 1) set_enum(v, std::move(texts), path, merged);
    return merged;
  }

  // The schema `v` stands for, through $refs (null when a $ref does not resolve: compile fails).
  const json::Value* target(const json::Value& v) const {
    const json::Value* s = &v;
    for (int hops = 0; hops < 32 && s->is_object(); ++hops) {
      const json::Value* ref = s->find("$ref");
      if (!ref || !ref->is_string()) return s;
      s = nullptr;
      for (const char* defs : {"#/$defs/", "#/definitions/"}) {
        const std::string& t = ref->as_string();
        const std::string prefix = defs;
        const json::Value* table = root_.is_object() ? root_.find(prefix.substr(2, prefix.size() - 3)) : nullptr;
        if (t.compare(0, prefix.size(), prefix) == 0 && table && table->is_object())
          s = table->find(t.substr(prefix.size()));
      }
      if (!s) return nullptr;
    }
    return s;
  }

  // The name of a property that every branch (two or more objects) lists with a const or enum
  // value, the first such name in the first branch; empty when there is none.
  std::string discriminator(const json::Value& list) const {
    if (list.items().size() < 2) return {};
    std::vector<const json::Value*> props;
    for (const json::Value& b : list.items()) {
      const json::Value* s = target(b);
      const json::Value* p = s && s->is_object() ? s->find("properties") : nullptr;
      if (!p || !p->is_object()) return {};
      props.push_back(p);
    }
    for (const auto& [name, sub] : props[0]->members()) {
      auto tagged = [&](const json::Value* p) {
        const json::Value* s = p->find(name);
        s = s ? target(*s) : nullptr;
        return s && s->is_object() && (s->find("const") || s->find("enum"));
      };
      if (std::all_of(props.begin(), props.end(), tagged)) return name;
    }
    return {};
  }

  // One object node whose only property is the discriminator `tag`, with every branch's values;
  // reading one of them switches the object to that value's branch.
  Node build_tagged_union(const json::Value& list, const std::string& keyword, const std::string& tag,
                          const std::string& path, int depth) {
    std::map<std::string, JsonSchema::Branch> by_text;
    for (size_t i = 0; i < list.items().size(); ++i) {
      const std::string where = path + "/" + keyword + "/" + std::to_string(i);
      const uint16_t index = compile(list.items()[i], where, depth);
      const Node& b = s_.nodes_[index];
      if (b.types != JsonSchema::kObject || b.open || b.enum_types)
        fail("'" + keyword + "' at " + path + ": branch " + std::to_string(i) +
             " must be an object schema with 'properties' (a union told apart by '" + tag + "')");
      uint8_t key = 0;
      while (b.prop_begin + key < b.prop_end && s_.props_[b.prop_begin + key].name != tag) ++key;
      if (b.prop_begin + key == b.prop_end) fail("'" + keyword + "' at " + path + ": branch " + std::to_string(i) + " has no '" + tag + "'");
      const Node& t = s_.nodes_[s_.props_[b.prop_begin + key].node];
      if (!((b.required >> key) & 1) || t.types != 0 || t.enum_types != JsonSchema::kString)
        fail("'" + keyword + "' at " + path + ": '" + tag + "' in branch " + std::to_string(i) +
             " must be required and have string const / enum values (the union's discriminator)");
      for (uint32_t e = t.enum_begin; e < t.enum_end; ++e)
        if (!by_text.emplace(s_.enums_[e], JsonSchema::Branch{index, key}).second)
          fail("'" + keyword + "' at " + path + ": branches share the '" + tag + "' value " + s_.enums_[e]);
    }
    if (s_.nodes_.size() >= kMaxNodes) fail("the schema has more than " + std::to_string(kMaxNodes) + " nodes");
    Node values;  // the discriminator's values, sorted as the branches below
    values.enum_types = JsonSchema::kString;
    values.enum_begin = static_cast<uint32_t>(s_.enums_.size());
    Node node;
    node.types = JsonSchema::kObject;
    node.required = 1;
    node.branch_begin = static_cast<uint32_t>(s_.branches_.size());
    for (const auto& [text, branch] : by_text) {
      s_.enums_.push_back(text);
      s_.branches_.push_back(branch);
    }
    values.enum_end = static_cast<uint32_t>(s_.enums_.size());
    node.branch_end = static_cast<uint32_t>(s_.branches_.size());
    const auto values_index = static_cast<uint16_t>(s_.nodes_.size());
    s_.nodes_.push_back(values);
    node.prop_begin = static_cast<uint32_t>(s_.props_.size());
    s_.props_.push_back({tag, values_index});
    node.prop_end = static_cast<uint32_t>(s_.props_.size());
    return node;
  }

  static uint8_t types(const json::Value& v, const std::string& path) {
    auto one = [&](const json::Value& t) -> uint8_t {
      if (t.is_string()) {
        const std::string& s = t.as_string();
        if (s == "object") return JsonSchema::kObject;
        if (s == "array") return JsonSchema::kArray;
        if (s == "string") return JsonSchema::kString;
        if (s == "number") return JsonSchema::kNumber;
        if (s == "integer") return JsonSchema::kInteger;
        if (s == "boolean") return JsonSchema::kBoolean;
        if (s == "null") return JsonSchema::kNull;
      }
      fail("'type' at " + path +
           " must name object, array, string, number, integer, boolean or null");
    };
    if (!v.is_array()) return one(v);
    uint8_t mask = 0;
    for (const json::Value& t : v.items()) mask |= one(t);
    if (mask == 0) fail("'type' at " + path + " is an empty list");
    return mask;
  }

  void compile_enum(const json::Value& v, const std::string& path, JsonSchema::Node& node) {
    if (use_enum(v, node)) return;
    std::vector<std::string> texts;
    auto text = [&](const json::Value& e, const std::string& where) {
      switch (e.type()) {
        case json::Type::String: return quote_json(e.as_string());
        case json::Type::Number: return number_text(e);
        case json::Type::Bool: return std::string(e.as_bool() ? "true" : "false");
        case json::Type::Null: return std::string("null");
        default: fail("the value at " + where + " must be a string, number, boolean or null");
      }
    };
    const json::Value* en = v.find("enum");
    if (en) {
      if (!en->is_array() || en->items().empty())
        fail("'enum' at " + path + " must be a non-empty array");
      for (size_t i = 0; i < en->items().size(); ++i)
        texts.push_back(text(en->items()[i], path + "/enum/" + std::to_string(i)));
    }
    if (const json::Value* c = v.find("const")) {
      const std::string t = text(*c, path + "/const");
      if (en && std::find(texts.begin(), texts.end(), t) == texts.end())
        fail("'const' at " + path + " is not one of its 'enum' values");
      texts.assign(1, t);
    }
    if (!texts.empty()) set_enum(v, std::move(texts), path, node);
  }

  // Gives `node` the enum texts already stored for the schema `v` (an inlined definition).
  bool use_enum(const json::Value& v, Node& node) const {
    auto it = enum_of_.find(&v);
    if (it == enum_of_.end()) return false;
    node.enum_types = it->second.enum_types;
    node.enum_begin = it->second.enum_begin;
    node.enum_end = it->second.enum_end;
    return true;
  }

  // Stores the enum texts of the schema `v` once, however often it is inlined.
  void set_enum(const json::Value& v, std::vector<std::string> texts, const std::string& path,
                Node& node) {
    if (use_enum(v, node)) return;
    std::sort(texts.begin(), texts.end());
    texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
    if (texts.size() > UINT16_MAX) fail("'enum' at " + path + " has too many values");
    node.enum_types = 0;
    for (const std::string& t : texts) {
      switch (t[0]) {
        case '"': node.enum_types |= JsonSchema::kString; break;
        case 't': case 'f': node.enum_types |= JsonSchema::kBoolean; break;
        case 'n': node.enum_types |= JsonSchema::kNull; break;
        default: node.enum_types |= JsonSchema::kNumber | JsonSchema::kInteger; break;
      }
    }
    node.enum_begin = static_cast<uint32_t>(s_.enums_.size());
    s_.enums_.insert(s_.enums_.end(), texts.begin(), texts.end());
    node.enum_end = static_cast<uint32_t>(s_.enums_.size());
    enum_of_[&v] = node;
  }

  void compile_object(const json::Value& v, const std::string& path, int depth,
                      JsonSchema::Node& node) {
    std::vector<JsonSchema::Property> props;
    const json::Value* p = v.find("properties");
    if (const json::Value* a = v.find("additionalProperties")) {
      // With 'properties' the object is closed, as in OpenAI's strict mode (constrained decoding
      // follows it): absent counts as false. Mixed known and extra keys are not supported.
      if (!a->is_bool())
        fail("'additionalProperties' at " + path + " is not supported unless true or false");
      if (a->as_bool() && p)
        fail("'additionalProperties' at " + path +
             " is not supported beside 'properties' unless false");
      if (a->as_bool()) node.open |= JsonSchema::kObject;
    } else if (!p) {
      node.open |= JsonSchema::kObject;  // no properties: any object
    }
    if (p) {
      if (!p->is_object()) fail("'properties' at " + path + " must be an object");
      if (p->members().size() > kMaxProperties)
        fail("the object at " + path + " has more than " + std::to_string(kMaxProperties) +
             " properties");
      for (const auto& [name, sub] : p->members()) {
        const std::string where = path + "/properties/" + pointer_token(name);
        for (unsigned char c : name)
          if (c == '"' || c == '\\' || c < 0x20)
            fail("the property name at " + where + " needs escaping (not supported)");
        props.push_back({name, compile(sub, where, depth + 1)});
      }
    }
    std::sort(props.begin(), props.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    if (const json::Value* r = v.find("required")) {
      if (!r->is_array()) fail("'required' at " + path + " must be an array of names");
      for (const json::Value& name : r->items()) {
        auto it = std::find_if(props.begin(), props.end(), [&](const auto& p) {
          return name.is_string() && p.name == name.as_string();
        });
        if (it == props.end())
          fail("'required' at " + path + " names " +
               (name.is_string() ? "'" + name.as_string() + "'" : std::string("a non-string")) +
               ", which is not in 'properties'");
        node.required |= uint64_t{1} << (it - props.begin());
      }
    }
    node.prop_begin = static_cast<uint32_t>(s_.props_.size());
    s_.props_.insert(s_.props_.end(), props.begin(), props.end());
    node.prop_end = static_cast<uint32_t>(s_.props_.size());
  }

  static uint32_t count(const json::Value& v, const char* key, const std::string& path,
                        uint32_t absent) {
    const json::Value* c = v.find(key);
    if (!c) return absent;
    if (!c->is_number() || !c->is_integer() || c->as_number() < 0)
      fail(std::string("'") + key + "' at " + path + " must be a non-negative integer");
    return static_cast<uint32_t>(std::min<double>(c->as_number(), UINT32_MAX));
  }

  JsonSchema& s_;
  const json::Value& root_;
  int any_index_ = -1;                            // the shared any node, once added
  std::vector<const json::Value*> active_;        // the definitions being inlined, outermost first
  std::map<const json::Value*, Node> enum_of_;    // the stored enum texts of each schema
};

std::shared_ptr<const JsonSchema> JsonSchema::compile(const std::string& schema_text) {
  const json::Value doc = json::parse(schema_text, "json_schema");
  std::shared_ptr<JsonSchema> schema(new JsonSchema());
  JsonSchemaCompiler(*schema, doc).compile(doc, "#", 1);
  return schema;
}

namespace {

JsonRecognizer::Limits lexer_limits() {
  JsonRecognizer::Limits limits;
  limits.max_depth = JsonSchemaRecognizer::kMaxDepth + 1;  // one more for the wrapper object
  return limits;
}

}  // namespace

JsonSchemaRecognizer::JsonSchemaRecognizer(const JsonSchema* schema)
    : schema_(schema), lex_(lexer_limits()) {
  // The lexer reads one object; as a member of this wrapper it reads any top-level value.
  static const uint8_t kWrapper[] = {'{', '"', '"', ':'};
  lex_.feed(kWrapper, sizeof kWrapper);
}

bool JsonSchemaRecognizer::feed(uint8_t byte) {
  JsonSchemaRecognizer next = *this;
  if (!next.step(byte)) return false;
  *this = next;
  return true;
}

bool JsonSchemaRecognizer::feed(const uint8_t* bytes, size_t n) {
  JsonSchemaRecognizer next = *this;
  for (size_t i = 0; i < n; ++i)
    if (!next.step(bytes[i])) return false;
  *this = next;
  return true;
}

bool JsonSchemaRecognizer::complete() const {
  JsonSchemaRecognizer c = *this;
  if (c.mode_ == kNumberText || c.mode_ == kLiteralText ||
      (c.mode_ == kEnumText && c.enum_may_end()))
    c.end_value();
  if (c.mode_ != kDone) return false;
  // The lexer decides whether the last token is whole (e.g. "tr" or "1e").
  return c.lex_.feed('}') && c.lex_.complete();
}

bool JsonSchemaRecognizer::unseen_in(uint32_t lo, uint32_t hi) const {
  const uint64_t upto_hi = hi >= 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  const uint64_t below_lo = (uint64_t{1} << lo) - 1;
  return (upto_hi & ~below_lo & ~data_[depth_ - 1]) != 0;
}

bool JsonSchemaRecognizer::open(bool object) {
  if (depth_ >= kMaxDepth) return false;
  frames_[depth_] = node_;
  data_[depth_] = 0;
  const uint32_t bit = uint32_t{1} << depth_;
  objects_ = object ? (objects_ | bit) : (objects_ & ~bit);
  ++depth_;
  mode_ = object ? kKeyOrClose : kItemOrClose;
  return true;
}

void JsonSchemaRecognizer::close() {
  --depth_;
  end_value();
}

void JsonSchemaRecognizer::end_value() {
  if (depth_ == 0) {
    mode_ = kDone;
    return;
  }
  mode_ = kAfterValue;
  const JsonSchema::Node& n = top();
  if (n.branch_end > n.branch_begin) {
    // A tagged union's only property, its discriminator, was read (an enum: match_ says which
    // value): from here the object is that value's branch, with the discriminator seen.
    const JsonSchema::Branch& b = schema_->branches_[n.branch_begin + match_.lo];
    frames_[depth_ - 1] = b.node;
    data_[depth_ - 1] = uint64_t{1} << b.key;
  }
}

bool JsonSchemaRecognizer::enum_may_end() const {
  // Only a number can be a proper prefix of another enum text (1 and 12); a whole string or
  // literal ends the value at its last byte.
  const std::string& t = schema_->enums_[schema_->nodes_[node_].enum_begin + match_.lo];
  return t.size() == match_.pos && is_number_text(t);  // the range is never empty
}

bool JsonSchemaRecognizer::enum_byte(uint8_t byte) {
  const JsonSchema::Node& n = schema_->nodes_[node_];
  const std::string* texts = &schema_->enums_[n.enum_begin];
  if (!narrow(match_.lo, match_.hi, match_.pos, byte,
              [&](uint32_t i) -> const std::string& { return texts[i]; }))
    return false;
  const std::string& first = texts[match_.lo];
  if (first.size() == match_.pos && !is_number_text(first)) end_value();
  return true;
}

bool JsonSchemaRecognizer::start_value(uint16_t node, uint8_t byte) {
  const JsonSchema::Node& n = schema_->nodes_[node];
  node_ = node;
  // The types a value starting with `byte` may have: an enum may decide some, the rest are free.
  uint8_t kind = 0;
  switch (byte) {
    case '{': kind = JsonSchema::kObject; break;
    case '[': kind = JsonSchema::kArray; break;
    case '"': kind = JsonSchema::kString; break;
    case 't': case 'f': kind = JsonSchema::kBoolean; break;
    case 'n': kind = JsonSchema::kNull; break;
    default:
      if (byte == '-' || is_digit(byte)) kind = JsonSchema::kNumber | JsonSchema::kInteger;
  }
  if (n.enum_types & kind) {
    match_ = {0, static_cast<uint16_t>(n.enum_end - n.enum_begin), 0};
    mode_ = kEnumText;
    return enum_byte(byte);
  }
  switch (byte) {
    case '{':
    case '[': {
      const uint8_t type = byte == '{' ? JsonSchema::kObject : JsonSchema::kArray;
      if (!(n.types & type)) return false;
      if (n.open & type) {  // the lexer alone reads it, up to its close
        mode_ = kAnyText;
        any_depth_ = 1;
        return true;
      }
      return open(byte == '{');
    }
    case '"':
      mode_ = kFreeString;
      return n.types & JsonSchema::kString;
    case 't': case 'f':
      mode_ = kLiteralText;
      return n.types & JsonSchema::kBoolean;
    case 'n':
      mode_ = kLiteralText;
      return n.types & JsonSchema::kNull;
    default:
      mode_ = kNumberText;
      return (byte == '-' || is_digit(byte)) &&
             (n.types & (JsonSchema::kNumber | JsonSchema::kInteger));
  }
}

bool JsonSchemaRecognizer::step(uint8_t byte) {
  const bool was_text = lex_.in_string_text();
  if (!lex_.feed(byte)) return false;
  switch (mode_) {
    case kFreeString:
      // A quote closes the string unless it was escaped.
      if (byte == '"' && was_text) end_value();
      return true;
    case kAnyText:
      // The lexer took the byte; a bracket outside a string opens or closes a container.
      if (!was_text) {
        if (byte == '{' || byte == '[') ++any_depth_;
        else if ((byte == '}' || byte == ']') && --any_depth_ == 0) end_value();
      }
      return true;
    case kKeyText: {
      const JsonSchema::Node& obj = top();
      const JsonSchema::Property* props = &schema_->props_[obj.prop_begin];
      if (byte == '"') {
        // The key must be exactly a name not seen yet: the shortest one in the range.
        if (props[match_.lo].name.size() != match_.pos || !unseen_in(match_.lo, match_.lo + 1u))
          return false;
        key_ = static_cast<uint8_t>(match_.lo);
        data_[depth_ - 1] |= uint64_t{1} << key_;
        mode_ = kColon;
        return true;
      }
      return narrow(match_.lo, match_.hi, match_.pos, byte,
                    [&](uint32_t i) -> const std::string& { return props[i].name; }) &&
             unseen_in(match_.lo, match_.hi);
    }
    case kEnumText:
      if (enum_byte(byte)) return true;
      if (!enum_may_end()) return false;
      end_value();  // a number enum ends at the first byte that extends no enum text
      return between_tokens(byte);
    case kNumberText:
      // The lexer took any number byte as part of the number (none may follow a value).
      if (is_number_byte(byte)) {
        const bool integer_only = !(schema_->nodes_[node_].types & JsonSchema::kNumber);
        return !(integer_only && (byte == '.' || byte == 'e' || byte == 'E'));
      }
      end_value();
      return between_tokens(byte);
    case kLiteralText:
      if (byte >= 'a' && byte <= 'z') return true;
      end_value();
      return between_tokens(byte);
    default:
      return between_tokens(byte);
  }
}

bool JsonSchemaRecognizer::between_tokens(uint8_t byte) {
  if (is_ws(byte)) return true;  // the lexer bounds whitespace runs
  switch (mode_) {
    case kValue: return start_value(node_, byte);
    case kItemOrClose: {
      const JsonSchema::Node& arr = top();
      if (byte == ']') {
        if (arr.min_items > 0) return false;
        close();
        return true;
      }
      if (arr.max_items == 0) return false;
      data_[depth_ - 1] = 1;
      return start_value(arr.items, byte);
    }
    case kKeyOrClose:
    case kKey: {
      const JsonSchema::Node& obj = top();
      if (byte == '}' && mode_ == kKeyOrClose) {
        if ((data_[depth_ - 1] & obj.required) != obj.required) return false;
        close();
        return true;
      }
      const uint32_t n = obj.prop_end - obj.prop_begin;
      if (byte != '"' || !unseen_in(0, n)) return false;
      match_ = {0, static_cast<uint16_t>(n), 0};
      mode_ = kKeyText;
      return true;
    }
    case kColon: {
      if (byte != ':') return false;
      node_ = schema_->props_[top().prop_begin + key_].node;
      mode_ = kValue;
      return true;
    }
    case kAfterValue: {
      const JsonSchema::Node& n = top();
      uint64_t& data = data_[depth_ - 1];
      if ((objects_ >> (depth_ - 1)) & 1) {
        if (byte == ',') {
          if (!unseen_in(0, n.prop_end - n.prop_begin)) return false;
          mode_ = kKey;
          return true;
        }
        if (byte != '}' || (data & n.required) != n.required) return false;
      } else {
        if (byte == ',') {
          if (data >= n.max_items) return false;
          ++data;
          node_ = n.items;
          mode_ = kValue;
          return true;
        }
        if (byte != ']' || data < n.min_items) return false;
      }
      close();
      return true;
    }
    default: return false;  // kDone: only whitespace
  }
}

}  // namespace llm
