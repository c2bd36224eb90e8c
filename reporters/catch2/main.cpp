// bstest-catch2-main: a main() for Catch2 programs that reports to Better Stack. Link it instead of
// Catch2WithMain (v3) or your CATCH_CONFIG_MAIN file (v2); the command line is Catch2's, unchanged.
//
// It owns the exit code: Catch2's run does not end the bstest run, this main does, after Catch2 returned.
// Re-runs of failed tests belong between the two (with bstest::catch2::session()->failed_tests()).
#include <bstest/catch2.hpp>

#if BSTEST_CATCH2_MAJOR == 2
#define CATCH_CONFIG_RUNNER  // this file holds Catch2 v2's implementation, as CATCH_CONFIG_MAIN would
#include <catch2/catch.hpp>
#else
#include <catch2/catch_session.hpp>
#endif

int main(int argc, char* argv[]) {
  bstest::catch2::configure({/*rerun_owner=*/true});
  int exit_code = 0;
  {
    Catch::Session catch_session;
    exit_code = catch_session.run(argc, argv);
  }
  bstest::catch2::finish_run(exit_code);
  return exit_code;
}
