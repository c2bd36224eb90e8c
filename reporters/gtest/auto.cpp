// bstest-gtest-auto: registers the bstest listener from a static initializer, so any main() (gtest_main
// included) reports to Better Stack without a line of code. The linker must keep this object: Meson's
// link_whole does, and the pkg-config file wraps it in --whole-archive.
//
// Nothing here reads GoogleTest flags (they may not be constructed yet during static initialization);
// the listener reads them in OnTestProgramStart.
#include <bstest/gtest.hpp>

namespace {
const bool registered = (bstest::gtest::install(), true);
}  // namespace

// Referenced by the build to make sure this object is linked.
extern "C" int bstest_gtest_auto_registered() { return registered ? 1 : 0; }
