// bstest-gtest-main: a main() for GoogleTest programs that reports to Better Stack. Link it instead of
// gtest_main. It owns the exit code: failed tests are re-run alone (BSTEST_RETRIES times, default 2), and
// a run whose every failure passed on a re-run (flaky) exits 0 unless BSTEST_FLAKY_FAILS=1. A program
// that ends before its run finished (exit(0) inside a test) does not exit 0.
#include <bstest/gtest.hpp>
#include <bstest/rerun.hpp>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // A death test's child runs main again (threadsafe style) and may exit(0) on purpose: leave it alone.
  if (GTEST_FLAG_GET(internal_run_death_test).empty()) bstest::guard_early_exit();
  bstest::gtest::InstallOptions options;
  options.rerun_owner = true;
  bstest::gtest::install(options);
  int rc = RUN_ALL_TESTS();
  bstest::Session* session = bstest::gtest::session();
  if (rc != 0 && session != nullptr && session->active() && session->owns_suite()) {
    bstest::RerunReport report;
    {
      bstest::RerunSignalForwarding forwarding;
      report = bstest::rerun_failed_tests(*session, bstest::rerun_target_of(*session));
    }
    // Every failure was flaky (on a re-run, or within a --gtest_repeat run), and flaky tests do not fail
    // the run. Any other non-zero code (a failure the session did not see) is GoogleTest's and stays.
    if (report.failed == 0 && report.not_rerun == 0 && session->counts().flaky > 0 && session->passed()) rc = 0;
  }
  bstest::gtest::finish_run(rc);
  bstest::end_exit_guard();
  bstest::raise_interrupting_signal();
  return rc;
}
