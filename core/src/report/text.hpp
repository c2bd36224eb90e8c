// Text for the report writers: escaping for XML and HTML, one-line summaries, durations.
#pragma once

#include <string>
#include <string_view>

namespace bstest::report {

// Appends `s` escaped for XML 1.0 (and HTML): & < > " ' as entities; in an attribute also tab, newline
// and carriage return as character references (so they survive attribute normalisation). Characters that
// XML 1.0 cannot hold at all (other control characters, U+FFFE, U+FFFF) become U+FFFD. `s` is valid UTF-8
// (records are).
void put_xml(std::string& out, std::string_view s, bool attribute);
inline std::string xml(std::string_view s, bool attribute = true) {
  std::string out;
  put_xml(out, s, attribute);
  return out;
}

// The first non-blank line of `s`, at most `max_bytes` (cut between characters, "..." added when cut).
std::string first_line(std::string_view s, std::size_t max_bytes);

// At most `max_bytes` of `s`, cut between characters, with a note of what was left out.
std::string capped(std::string_view s, std::size_t max_bytes);

// Milliseconds as seconds with three decimals: "0.003", "12.345".
std::string seconds(double ms);
// For people: "3 ms", "1.25 s", "2 min 5 s".
std::string human_duration(double ms);

// "file:line", "file", or "" when the file is unknown.
std::string where(const std::string& file, int line);

}  // namespace bstest::report
