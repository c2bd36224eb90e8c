#include "base/wildcard.hpp"

namespace bstest::detail {

namespace {

char fold(char c, bool ignore_case) noexcept {
  return ignore_case && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool wildcard_match(std::string_view pattern, std::string_view text, bool ignore_case) noexcept {
  std::size_t p = 0, t = 0;
  // The last '*' seen and the text position it was tried at: on a mismatch, that '*' takes one more byte.
  std::size_t star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() &&
               (pattern[p] == '?' || fold(pattern[p], ignore_case) == fold(text[t], ignore_case))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace bstest::detail
