// bstest-catch2-main: a main() for Catch2 programs that reports to Better Stack. Link it instead of
// Catch2WithMain (v3) or your CATCH_CONFIG_MAIN file (v2); the command line is Catch2's, unchanged.
//
// It owns the exit code: failed test cases are re-run alone (BSTEST_RETRIES times, default 2), each in a
// fresh process selected by an escaped test spec and the same --rng-seed, and a run whose every failure
// passed on a re-run (flaky) exits 0 unless BSTEST_FLAKY_FAILS=1. A program that ends before its run
// finished (exit(0) inside a test) does not exit 0.
#include <bstest/catch2.hpp>
#include <bstest/rerun.hpp>

#if BSTEST_CATCH2_MAJOR == 2
#define CATCH_CONFIG_RUNNER  // this file holds Catch2 v2's implementation, as CATCH_CONFIG_MAIN would
#include <catch2/catch.hpp>
#else
#include <catch2/catch_session.hpp>
#endif

int main(int argc, char* argv[]) {
  bstest::guard_early_exit();
  bstest::catch2::configure({/*rerun_owner=*/true});
  int exit_code = 0;
  {
    Catch::Session catch_session;
    exit_code = catch_session.run(argc, argv);
  }
  bstest::Session* session = bstest::catch2::session();
  if (exit_code != 0 && session != nullptr && session->active() && session->owns_suite()) {
    bstest::RerunReport report;
    {
      bstest::RerunSignalForwarding forwarding;
      report = bstest::rerun_failed_tests(*session, bstest::rerun_target_of(*session));
    }
    // Every failure was flaky, and flaky tests do not fail the run. Any other non-zero code (Catch2's
    // 'all test cases skipped', a failure the session did not see) is the framework's and stays.
    if (report.flaky > 0 && report.failed == 0 && report.not_rerun == 0 && session->passed()) exit_code = 0;
  }
  bstest::catch2::finish_run(exit_code);
  bstest::end_exit_guard();
  bstest::raise_interrupting_signal();
  return exit_code;
}
