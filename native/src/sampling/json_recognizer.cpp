#include "sampling/json_recognizer.h"

#include <algorithm>

namespace llm {

namespace {

const char* const kLiterals[] = {"true", "false", "null"};

bool is_ws(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }
bool is_digit(uint8_t b) { return b >= '0' && b <= '9'; }
bool is_hex(uint8_t b) { return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }

uint16_t clamp16(int v) { return static_cast<uint16_t>(std::clamp(v, 0, 0xFFFF)); }

}  // namespace

JsonRecognizer::JsonRecognizer() : JsonRecognizer(Limits{}) {}

JsonRecognizer::JsonRecognizer(const Limits& limits)
    : max_ws_(clamp16(limits.max_whitespace_run)),
      max_num_(clamp16(limits.max_number_length)),
      // The container kinds live in one 64-bit word.
      max_depth_(static_cast<uint8_t>(std::clamp(limits.max_depth, 0, 64))) {}

bool JsonRecognizer::feed(uint8_t byte) {
  JsonRecognizer next = *this;
  if (!next.step(byte)) return false;
  *this = next;
  return true;
}

bool JsonRecognizer::feed(const uint8_t* bytes, size_t n) {
  JsonRecognizer next = *this;
  for (size_t i = 0; i < n; ++i)
    if (!next.step(bytes[i])) return false;
  *this = next;
  return true;
}

bool JsonRecognizer::complete() const { return state_ == kDone; }

bool JsonRecognizer::open(bool object) {
  if (depth_ >= max_depth_) return false;
  const uint64_t bit = uint64_t{1} << depth_;
  kinds_ = object ? (kinds_ | bit) : (kinds_ & ~bit);
  ++depth_;
  state_ = object ? kKeyOrClose : kValueOrClose;
  return true;
}

void JsonRecognizer::close() {
  --depth_;
  state_ = depth_ == 0 ? kDone : kAfterValue;
}

bool JsonRecognizer::start_value(uint8_t byte) {
  switch (byte) {
    case '{': return open(true);
    case '[': return open(false);
    case '"':
      in_key_ = false;
      state_ = kString;
      return true;
    case 't': case 'f': case 'n':
      aux_ = byte == 't' ? 0 : byte == 'f' ? 1 : 2;
      pos_ = 1;
      state_ = kLiteral;
      return true;
    default: break;
  }
  if (byte != '-' && !is_digit(byte)) return false;
  if (max_num_ < (byte == '-' ? 2 : 1)) return false;  // "-" alone cannot end
  num_len_ = 1;
  state_ = byte == '-' ? kNumMinus : byte == '0' ? kNumZero : kNumInt;
  return true;
}

bool JsonRecognizer::step(uint8_t byte) {
  // Numbers have no closing byte: one that cannot extend a number ends it (when it may end
  // there) and is then read as whatever follows a value, e.g. the '1' of "01" is rejected there.
  if (state_ >= kNumMinus) {
    const bool digit = is_digit(byte), exp = byte == 'e' || byte == 'E';
    State next = state_;
    bool may_end = false;
    switch (state_) {
      case kNumMinus: next = byte == '0' ? kNumZero : digit ? kNumInt : kStart; break;
      case kNumZero:
        next = byte == '.' ? kNumDot : exp ? kNumExp : kStart;
        may_end = true;
        break;
      case kNumInt:
        next = digit ? kNumInt : byte == '.' ? kNumDot : exp ? kNumExp : kStart;
        may_end = true;
        break;
      case kNumDot: next = digit ? kNumFrac : kStart; break;
      case kNumFrac:
        next = digit ? kNumFrac : exp ? kNumExp : kStart;
        may_end = true;
        break;
      case kNumExp:
        next = digit ? kNumExpDigits : (byte == '+' || byte == '-') ? kNumExpSign : kStart;
        break;
      case kNumExpSign: next = digit ? kNumExpDigits : kStart; break;
      default:  // kNumExpDigits
        next = digit ? kNumExpDigits : kStart;
        may_end = true;
        break;
    }
    if (next != kStart) {  // kStart here: the byte does not extend the number
      // A state that cannot end the number ("-", "1.", "1e", "1e+") needs room for one more
      // byte, or the output would be stuck with no way to finish it.
      const bool unfinished = next == kNumMinus || next == kNumDot || next == kNumExp || next == kNumExpSign;
      if (num_len_ + (unfinished ? 1 : 0) >= max_num_) return false;
      ++num_len_;
      state_ = next;
      return true;
    }
    if (!may_end) return false;
    state_ = kAfterValue;
  }

  switch (state_) {
    case kString:
      if (byte < 0x20) return false;
      if (byte == '"') {
        state_ = in_key_ ? kColon : kAfterValue;
      } else if (byte == '\\') {
        state_ = kEscape;
      } else if (byte >= 0x80) {
        // RFC 3629: the first continuation byte's range rules out overlongs, surrogates and
        // code points above U+10FFFF; the later ones are any of 80-BF.
        lo_ = 0x80;
        hi_ = 0xBF;
        if (byte >= 0xC2 && byte <= 0xDF) aux_ = 1;
        else if (byte >= 0xE0 && byte <= 0xEF) aux_ = 2;
        else if (byte >= 0xF0 && byte <= 0xF4) aux_ = 3;
        else return false;
        if (byte == 0xE0) lo_ = 0xA0;
        if (byte == 0xED) hi_ = 0x9F;
        if (byte == 0xF0) lo_ = 0x90;
        if (byte == 0xF4) hi_ = 0x8F;
        state_ = kUtf8;
      }
      return true;
    case kUtf8:
      if (byte < lo_ || byte > hi_) return false;
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--aux_ == 0) state_ = kString;
      return true;
    case kEscape:
      if (byte == 'u') {
        aux_ = 4;
        state_ = kHex;
        return true;
      }
      switch (byte) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          state_ = kString;
          return true;
        default: return false;
      }
    case kHex:
      if (!is_hex(byte)) return false;
      if (--aux_ == 0) state_ = kString;
      return true;
    case kLiteral: {
      const char* lit = kLiterals[aux_];
      if (byte != static_cast<uint8_t>(lit[pos_])) return false;
      if (lit[++pos_] == '\0') state_ = kAfterValue;
      return true;
    }
    default: break;
  }

  // Between tokens.
  if (is_ws(byte)) {
    if (ws_run_ >= max_ws_) return false;
    ++ws_run_;
    return true;
  }
  ws_run_ = 0;
  switch (state_) {
    case kStart: return byte == '{' && open(true);
    case kKeyOrClose:
      if (byte == '}') {
        close();
        return true;
      }
      [[fallthrough]];
    case kKey:
      if (byte != '"') return false;
      in_key_ = true;
      state_ = kString;
      return true;
    case kColon:
      if (byte != ':') return false;
      state_ = kValue;
      return true;
    case kValueOrClose:
      if (byte == ']') {
        close();
        return true;
      }
      [[fallthrough]];
    case kValue: return start_value(byte);
    case kAfterValue: {
      const bool object = (kinds_ >> (depth_ - 1)) & 1;
      if (byte == ',') {
        state_ = object ? kKey : kValue;
        return true;
      }
      if (byte == (object ? '}' : ']')) {
        close();
        return true;
      }
      return false;
    }
    default: return false;  // kDone: only whitespace
  }
}

}  // namespace llm
