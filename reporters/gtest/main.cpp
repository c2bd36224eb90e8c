// bstest-gtest-main: a main() for GoogleTest programs that reports to Better Stack. Link it instead of
// gtest_main. It owns the exit code: failed tests are re-run alone (BSTEST_RETRIES times, default 2), and
// a run whose every failure passed on a re-run (flaky) exits 0 unless BSTEST_FLAKY_FAILS=1.
#include <bstest/gtest.hpp>
#include <bstest/rerun.hpp>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  bstest::gtest::InstallOptions options;
  options.rerun_owner = true;
  bstest::gtest::install(options);
  int rc = RUN_ALL_TESTS();
  bstest::Session* session = bstest::gtest::session();
  if (rc != 0 && session != nullptr && session->active() && session->owns_suite()) {
    bstest::RerunReport report = bstest::rerun_failed_tests(*session, bstest::rerun_target_of(*session));
    // Every failure was flaky, and flaky tests do not fail the run. Any other non-zero code (a failure the
    // session did not see, a test program that exits on its own) is GoogleTest's and stays.
    if (report.flaky > 0 && report.failed == 0 && report.not_rerun == 0 && session->passed()) rc = 0;
  }
  bstest::gtest::finish_run(rc);
  return rc;
}
