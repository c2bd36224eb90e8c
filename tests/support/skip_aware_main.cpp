// A main for test programs whose tests may skip themselves because this machine lacks something (a program,
// root, a mount namespace): like gtest_main, except that a run in which a test skipped itself exits 77,
// which `meson test` reports as SKIP. A test that did not really run must never show OK.
//
// Only for programs whose every test needs the same thing: one skipped test makes the whole program SKIP.
#include <gtest/gtest.h>

#include <cstdio>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  int skipped = ::testing::UnitTest::GetInstance()->skipped_test_count();
  if (rc == 0 && skipped > 0) {
    std::fprintf(stderr, "%d test(s) skipped: exit code 77, so that meson test reports SKIP\n", skipped);
    return 77;
  }
  return rc;
}
