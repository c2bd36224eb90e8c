// A main() that owns the exit code (the provided mains): failed tests are re-run alone, each gets its
// verdict, and the exit code says whether anything but flaky tests failed.
#include "run/rerun.hpp"

#include "base/process.hpp"
#include "quarantine/run_quarantine.hpp"
#include "session/session_impl.hpp"

namespace bstest::detail {

void SessionImpl::own_exit_code() {
  owns_exit_code_ = true;
  guard_early_exit();
}

// This program as it ran: its path, original arguments, start directory and the seed of a shuffled run.
RerunReport SessionImpl::rerun_failed_tests() {
  RerunTarget target;
  target.framework = framework();
  target.exe = self_exe();
  target.argv = self_argv();
  target.cwd = start_dir_.empty() ? current_directory() : start_dir_;
  target.has_random_seed = has_random_seed();
  target.random_seed = random_seed();
  const std::vector<FailedTest>& failed = ledger_.failed();
  std::vector<RerunJob> jobs;
  for (const auto& t : failed) jobs.push_back({&target, &t, {}});
  RerunSettings settings;
  settings.retries = cfg_.retries;
  settings.run_id = run_id_;
  settings.dir = cfg_.dir;
  settings.timeout_ms = cfg_.rerun_timeout_ms;
  settings.env = quarantine_env(quarantine_);  // the same file, judged by the same day
  RerunSignalForwarding forwarding;  // Ctrl-C reaches the re-run in its own process group
  return rerun_tests(jobs, settings, [&](std::size_t i, RerunVerdict v, const std::vector<AttemptOutcome>& attempts) {
    // Interrupted or not re-run: no verdict, its first failure stands.
    if (v == RerunVerdict::flaky) test_flaky(failed[i], attempts);
    if (v == RerunVerdict::failed) test_failed_every_attempt(failed[i], attempts);
  });
}

int SessionImpl::finish_owned_run(int exit_code) {
  if (exit_code != 0 && owns_exit_code_ && active() && owns_suite()) {
    if (cfg_.retries > 0) rerun_failed_tests();
    // Every failure was flaky (on a re-run, or within a --gtest_repeat run) or quarantined: neither fails the
    // run (passed() says whether anything else did). Any other non-zero code (a failure the session did not
    // see, "all test cases skipped") stands.
    bool flaky = cfg_.retries > 0 && counts().flaky > 0;
    if ((flaky || counts().quarantined > 0) && passed()) exit_code = 0;
  }
  exit_code_ = exit_code;
  run_finished();
  end_exit_guard();
  raise_interrupting_signal();
  return exit_code;
}

}  // namespace bstest::detail
