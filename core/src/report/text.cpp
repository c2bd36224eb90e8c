#include "report/text.hpp"

#include "record/record_reader.hpp"

#include <cstdio>

namespace bstest::report {

void put_xml(std::string& out, std::string_view s, bool attribute) {
  out.reserve(out.size() + s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += "&quot;"; continue;
      case '\'': out += "&#39;"; continue;
      case '\t': out += attribute ? "&#9;" : "\t"; continue;
      case '\n': out += attribute ? "&#10;" : "\n"; continue;
      case '\r': out += attribute ? "&#13;" : "\r"; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\xEF\xBF\xBD";
      continue;
    }
    // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters either.
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xBE) {
      out += "\xEF\xBF\xBD";
      i += 2;
      continue;
    }
    out += static_cast<char>(c);
  }
}

std::string first_line(std::string_view s, std::size_t max_bytes) {
  std::size_t start = 0;
  for (;;) {
    std::size_t end = s.find('\n', start);
    std::string_view line = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty() || end == std::string_view::npos) {
      if (line.size() <= max_bytes) return std::string(line);
      return std::string(detail::utf8_prefix(line, max_bytes)) + "...";
    }
    start = end + 1;
  }
}

std::string capped(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::string out(detail::utf8_prefix(s, max_bytes));
  out += "\n[... " + std::to_string(s.size() - out.size()) + " more bytes in the journal]";
  return out;
}

std::string seconds(double ms) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", ms < 0 ? 0.0 : ms / 1000.0);
  return buf;
}

std::string human_duration(double ms) {
  char buf[48];
  if (ms < 0) ms = 0;
  if (ms < 1) {
    std::snprintf(buf, sizeof buf, "%.3f ms", ms);
  } else if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  } else if (ms < 60000) {
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  } else {
    long s = static_cast<long>(ms / 1000);
    std::snprintf(buf, sizeof buf, "%ld min %ld s", s / 60, s % 60);
  }
  return buf;
}

std::string where(const std::string& file, int line) {
  if (file.empty()) return {};
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

}  // namespace bstest::report
