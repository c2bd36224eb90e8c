// Helpers shared by the libFuzzer targets: a failed check that libFuzzer reports as a crash, a strict
// UTF-8 validator and the expected output of the JSON string encoder, written independently of
// core/src/record/json.cpp, and strict JSON parsing.
//
// They are the oracle, not the code under test: fuzz_common.cpp is built without the fuzzer's coverage
// instrumentation (its RapidJSON parsing would otherwise swamp the coverage signal and the speed).
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fuzz {

// Prints what failed (with context, non-printable bytes escaped) and aborts: libFuzzer saves the input.
[[noreturn]] void fail(const char* file, int line, const char* what, const std::string& context);

#define FUZZ_CHECK(cond, context)                                 \
  do {                                                            \
    if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, #cond, context); \
  } while (0)

// Length in bytes of the strict UTF-8 character (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF) at s[i], or 0 when the bytes there do not start one.
std::size_t utf8_char(std::string_view s, std::size_t i);
bool valid_utf8(std::string_view s);
// Number of code points of a valid UTF-8 string.
std::size_t utf8_length(std::string_view s);

// The documented contract of put_json_string / put_json_chars, as the decoded string they must produce:
// each byte that does not start a valid character becomes U+FFFD; at most `max_bytes` input bytes are
// used, never half a character; a cut string ends with " [bstest: truncated, kept K of N bytes]".
std::string expected_json_text(std::string_view s, std::size_t max_bytes, bool* truncated = nullptr);

// Strict parse: the whole text is one JSON value, its strings valid UTF-8. (Both parsers here are
// RapidJSON's iterative one: no recursion, whatever the nesting.)
bool parse_strict(rapidjson::Document& d, std::string_view text);
// RapidJSON's default grammar (what core's readers accept): the whole text is one JSON object.
bool is_json_object(std::string_view text);
std::string parse_error(const rapidjson::Document& d);

// Lets a short input stand for a long one: each 0xFE C B (C, B any bytes) becomes (C + 1) * 1024 copies
// of byte B; everything else is copied. The result is cut at `max_bytes`.
std::string expand(std::string_view in, std::size_t max_bytes);

inline std::string_view str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }
bool is_lower_hex(std::string_view s, std::size_t n);

}  // namespace fuzz
