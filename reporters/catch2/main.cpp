// bstest-catch2-main: a main() for Catch2 programs that reports to Better Stack. Link it instead of
// Catch2WithMain (v3) or your CATCH_CONFIG_MAIN file (v2); the command line is Catch2's, unchanged.
//
// It owns the exit code: failed test cases are re-run alone (BSTEST_RETRIES times, default 2), each in a
// fresh process selected by an escaped test spec and the same --rng-seed, and a run whose every failure
// passed on a re-run (flaky) exits 0 unless BSTEST_FLAKY_FAILS=1. A program that ends before its run
// finished (exit(0) inside a test) does not exit 0.
#include <bstest/catch2.hpp>

#if BSTEST_CATCH2_MAJOR == 2
#define CATCH_CONFIG_RUNNER  // this file holds Catch2 v2's implementation, as CATCH_CONFIG_MAIN would
#include <catch2/catch.hpp>
#else
#include <catch2/catch_session.hpp>
#endif

int main(int argc, char* argv[]) {
  bstest::catch2::configure({/*owns_exit_code=*/true});
  int exit_code = 0;
  {
    Catch::Session catch_session;
    exit_code = catch_session.run(argc, argv);
  }
  return bstest::catch2::finish(exit_code);
}
