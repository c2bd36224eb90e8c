// Wildcard patterns as GoogleTest's --gtest_filter reads them: '*' matches any run of bytes (none too), '?'
// any one byte, every other byte itself. No escapes. Used for BSTEST_REDACT's variable-name patterns and for
// the test patterns of the quarantine file.
#pragma once

#include <string_view>

namespace bstest::detail {

// Whether `pattern` matches the whole of `text`. With `ignore_case`, ASCII letters match either case.
// Linear in practice (one saved position per '*'), never recursive.
bool wildcard_match(std::string_view pattern, std::string_view text, bool ignore_case = false) noexcept;

}  // namespace bstest::detail
