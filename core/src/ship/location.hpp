// Where a freshly built `bstest` program is, when this library is used from its build tree (our own tests,
// a Meson project that uses bstest as a subproject). Two variants are linked: the installed library answers
// nullptr, so an installed file never names the machine's build folders.
#pragma once

namespace bstest::detail {
const char* build_tree_bindir() noexcept;
}
