// The quarantine file's grammar (docs/quarantine.md): `field: value` lines, `#` comment lines, blank lines;
// each entry starts with its `test:` line.
#pragma once

#include "quarantine/quarantine.hpp"

#include <string_view>
#include <vector>

namespace bstest::detail {

// Appends the entries of `text` and what is wrong with it, as of `today`. Never throws but for memory.
void parse_quarantine(std::string_view text, Day today, std::vector<QuarantineEntry>& entries,
                      std::vector<QuarantineProblem>& problems);

}  // namespace bstest::detail
