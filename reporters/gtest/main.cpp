// bstest-gtest-main: a main() for GoogleTest programs that reports to Better Stack. Link it instead of
// gtest_main. It owns the exit code: failed tests are re-run alone (BSTEST_RETRIES times, default 2), and
// a run whose every failure passed on a re-run (flaky) exits 0 unless BSTEST_FLAKY_FAILS=1. A program
// that ends before its run finished (exit(0) inside a test) does not exit 0.
#include <bstest/gtest.hpp>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::install({/*owns_exit_code=*/true});
  return bstest::gtest::finish(RUN_ALL_TESTS());
}
