// An incremental recognizer of one JSON object (response_format {"type": "json_object"}): the
// sampler feeds it the generated text byte by byte and asks whether a candidate token keeps the
// text a prefix of some valid document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace llm {

// Recognizes one JSON object (RFC 8259; the top-level value must be an object) over UTF-8 bytes,
// one byte at a time, for constrained decoding. Small and trivially copyable, so callers copy it
// to try a token's bytes and keep the copy only when every byte was accepted.
class JsonRecognizer {
 public:
  struct Limits {
    int max_depth = 32;           // nested objects/arrays (at most 64)
    int max_whitespace_run = 8;   // consecutive whitespace bytes outside strings
    int max_number_length = 32;   // bytes in one number literal
  };
  JsonRecognizer();
  explicit JsonRecognizer(const Limits& limits);
  // Consumes `byte` when the bytes so far followed by it are still a prefix of some valid
  // document (within the limits); otherwise returns false and leaves the state unchanged.
  bool feed(uint8_t byte);
  // All or nothing: true when every byte was consumed; on false the state is as before the call.
  bool feed(const uint8_t* bytes, size_t n);
  // The bytes so far are a complete document: the top-level object has closed (only whitespace,
  // within max_whitespace_run, may follow it).
  bool complete() const;
  // Inside a string, where every printable ASCII byte but '"' and '\\' is accepted and leaves the
  // state as it is.
  bool in_string_text() const { return state_ == kString; }

 private:
  enum State : uint8_t {
    kStart,          // before the top-level '{'
    kKeyOrClose,     // after '{': a key or '}'
    kKey,            // after ',' in an object: a key
    kColon,          // after a key
    kValue,          // after ':' or ',' in an array
    kValueOrClose,   // after '[': a value or ']'
    kAfterValue,     // ',' or the close of the enclosing container
    kDone,           // the top-level object has closed
    kString,         // inside a string
    kEscape,         // after '\' in a string
    kHex,            // in the digits of \uXXXX (aux_ = digits left)
    kUtf8,           // in a multi-byte character (aux_ = bytes left, next byte in [lo_, hi_])
    kLiteral,        // in true/false/null (aux_ = which, pos_ = bytes matched)
    kNumMinus,       // "-"
    kNumZero,        // "0" as the integer part
    kNumInt,         // "[1-9][0-9]*"
    kNumDot,         // "."
    kNumFrac,        // ".[0-9]+"
    kNumExp,         // "e"
    kNumExpSign,     // "e+" / "e-"
    kNumExpDigits,   // "e[+-]?[0-9]+"
  };

  // Advances by one byte; may leave a half-updated state on false (feed() works on a copy).
  bool step(uint8_t byte);
  bool open(bool object);
  void close();
  bool start_value(uint8_t byte);

  uint64_t kinds_ = 0;           // bit i: the container at depth i + 1 is an object (else array)
  uint16_t max_ws_ = 8;
  uint16_t max_num_ = 32;
  uint16_t ws_run_ = 0;          // consecutive whitespace bytes outside strings
  uint16_t num_len_ = 0;         // bytes in the current number
  uint8_t max_depth_ = 32;
  uint8_t depth_ = 0;
  State state_ = kStart;
  uint8_t aux_ = 0;
  uint8_t pos_ = 0;
  uint8_t lo_ = 0, hi_ = 0;
  bool in_key_ = false;          // the current string is an object key
};

static_assert(std::is_trivially_copyable<JsonRecognizer>::value,
              "callers copy the recognizer to try a token");

}  // namespace llm
