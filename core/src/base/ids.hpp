// Ids: random hex for record, journal and event ids, and run ids.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bstest::detail {

// Fresh random lowercase hex (from getrandom, else the clock and pid), `bytes` bytes -> 2*bytes characters.
std::string random_hex(std::size_t bytes);

// A run id as users may set it (BSTEST_RUN_ID): 1 to 64 characters of [A-Za-z0-9_-].
bool valid_run_id(std::string_view id) noexcept;

// BSTEST_RUN_ID when it is valid, else a new one that sorts by time: "20261125T181830Z-6b3fe822".
std::string make_run_id();

}  // namespace bstest::detail
