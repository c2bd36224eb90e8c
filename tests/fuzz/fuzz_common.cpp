#include "fuzz_common.hpp"

#include <rapidjson/error/en.h>

#include <cstdio>
#include <cstdlib>

namespace fuzz {

void fail(const char* file, int line, const char* what, const std::string& context) {
  std::fprintf(stderr, "\n%s:%d: CHECK failed: %s\n", file, line, what);
  if (!context.empty()) {
    std::fprintf(stderr, "  context: ");
    for (unsigned char c : context) {
      if (c >= 0x20 && c < 0x7F) {
        std::fputc(c, stderr);
      } else {
        std::fprintf(stderr, "\\x%02x", c);
      }
    }
    std::fputc('\n', stderr);
  }
  std::abort();
}

std::size_t utf8_char(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t cp;
  std::uint32_t min;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return 0;  // a continuation byte, or 0xF8..0xFF
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_char(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t count = 0;
  for (unsigned char c : s) count += (c & 0xC0) != 0x80;
  return count;
}

std::string expected_json_text(std::string_view s, std::size_t max_bytes, bool* truncated) {
  const std::size_t limit = s.size() < max_bytes ? s.size() : max_bytes;
  std::string r;
  std::size_t i = 0;
  while (i < limit) {
    std::size_t n = utf8_char(s, i);
    if (n == 0) {
      r += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (i + n > limit) break;
    r.append(s.data() + i, n);
    i += n;
  }
  if (truncated != nullptr) *truncated = i < s.size();
  if (i < s.size()) {
    r += " [bstest: truncated, kept " + std::to_string(i) + " of " + std::to_string(s.size()) + " bytes]";
  }
  return r;
}

bool parse_strict(rapidjson::Document& d, std::string_view text) {
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !d.HasParseError();
}

bool is_json_object(std::string_view text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !d.HasParseError() && d.IsObject();
}

std::string parse_error(const rapidjson::Document& d) {
  return std::string(rapidjson::GetParseError_En(d.GetParseError())) + " at " + std::to_string(d.GetErrorOffset());
}

std::string expand(std::string_view in, std::size_t max_bytes) {
  std::string r;
  for (std::size_t i = 0; i < in.size() && r.size() < max_bytes; ++i) {
    if (in[i] == '\xFE' && i + 2 < in.size()) {
      std::size_t count = (static_cast<unsigned char>(in[i + 1]) + 1u) * 1024u;
      if (count > max_bytes - r.size()) count = max_bytes - r.size();
      r.append(count, in[i + 2]);
      i += 2;
      continue;
    }
    r += in[i];
  }
  return r;
}

bool is_lower_hex(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace fuzz
