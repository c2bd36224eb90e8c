#include "ship/location.hpp"

namespace bstest::detail {
const char* build_tree_bindir() noexcept { return nullptr; }
}  // namespace bstest::detail
