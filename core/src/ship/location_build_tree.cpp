#include "ship/location.hpp"

namespace bstest::detail {
const char* build_tree_bindir() noexcept { return BSTEST_BUILD_BINDIR; }
}  // namespace bstest::detail
