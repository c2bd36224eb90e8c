// Small string facts used across bstest, written once.
#pragma once

#include <string>
#include <string_view>

namespace bstest::detail {

inline bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

inline bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ASCII case, as the C locale has it: for names, schemes, hosts and header names (never for user text).
inline std::string to_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return r;
}
inline std::string to_upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return r;
}

// The last component of a path ("/a/b/c" -> "c").
inline std::string_view base_name(std::string_view path) noexcept {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The longest prefix of s that is at most max_bytes long and does not end inside a UTF-8 character.
inline std::size_t utf8_cut(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s.size();
  std::size_t cut = max_bytes;
  // A character has at most three continuation bytes; a longer run is invalid UTF-8 anyway.
  for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80; ++k) --cut;
  return (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80 ? max_bytes : cut;
}

// At most `max_bytes` of `s`, cut where utf8_cut says.
inline std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept {
  return s.substr(0, utf8_cut(s, max_bytes));
}

}  // namespace bstest::detail
