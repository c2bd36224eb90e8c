// Secrets never leave: the values of secret-looking environment variables (and bstest's own tokens) are
// replaced by "[redacted]" in every free text a record or an event carries (failure messages, skip
// reasons, properties, exception texts).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bstest::detail {

class Redactor {
 public:
  // Collects values of variables named like *TOKEN*, *SECRET*, *PASSWORD*, *KEY*, *DSN*, *HEARTBEAT_URL*,
  // or matching one of `extra_patterns` (a '*' matches any run of characters), from `environ`.
  void collect_from_environment(const std::vector<std::string>& extra_patterns);
  void add(std::string value);
  // Appends `in` to `out` with every secret replaced; returns true when something was replaced.
  bool apply(std::string_view in, std::string& out) const;
  // `in` with every secret replaced.
  std::string clean(std::string_view in) const;
  // The same into `out` (at most `cap` bytes, never part of a "[redacted]"), without allocating: for a
  // signal handler. Returns the bytes written.
  std::size_t apply_bounded(std::string_view in, char* out, std::size_t cap) const noexcept;
  bool empty() const noexcept { return values_.empty(); }
  static bool name_looks_secret(std::string_view name, const std::vector<std::string>& extra_patterns);

 private:
  std::vector<std::string> values_;
};

// First line of a message, cut to `max` bytes (for the human "message" field).
std::string_view first_line(std::string_view s, std::size_t max);

// `s` with secrets redacted, then cut to `max` bytes at a character boundary (redacting first, so that a
// secret straddling the cut is never half shown). With `one_line`, only the first line is kept.
std::string redacted_head(std::string_view s, std::size_t max, const Redactor& redactor, bool one_line = false);

}  // namespace bstest::detail
