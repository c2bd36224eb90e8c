// Telling flaky from broken: a failed test is run again, alone, in a fresh process of the same program.
//
// One implementation serves every owner of the exit code: the provided mains (bstest-gtest-main,
// bstest-catch2-main) and `bstest run`. The child is told it is a re-run through the environment
// (BSTEST_ROLE=child, BSTEST_ATTEMPT=<n>, the same BSTEST_RUN_ID and BSTEST_DIR), so its records carry the
// attempt number and are shipped with the run; it reports each test's result in a small file
// (BSTEST_RESULT_FILE) that the owner reads back.
#pragma once

#include <bstest/session.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bstest {

// How to start the test program again.
struct RerunTarget {
  std::string framework;           // "googletest" or "catch2"
  std::string exe;                 // absolute path of the program
  std::vector<std::string> argv;   // its original arguments, argv[0] first
  std::string cwd;                 // where it ran
  bool has_random_seed = false;    // shuffled run: replay with the same seed
  std::uint64_t random_seed = 0;
};

// The command line that runs only `test`: GoogleTest --gtest_filter (plus --gtest_also_run_disabled_tests
// for a DISABLED_ test and the seed of a shuffled run), Catch2 an escaped test spec.
std::vector<std::string> rerun_command(const RerunTarget& target, const FailedTest& test);

// Catch2's test-spec escaping for one exact test name (backslash, comma, brackets, quotes, a leading ~).
std::string catch2_test_spec(std::string_view name);

// Runs `test` alone, as attempt `attempt`, and waits for it. The child's output goes to this process's
// stdout/stderr.
AttemptOutcome rerun_once(const RerunTarget& target, const FailedTest& test, int attempt, const std::string& run_id,
                          const std::string& dir);

// Sends `sig` to the re-run child that rerun_once is waiting for, if there is one (for the owner's SIGINT /
// SIGTERM handler: a re-run must not outlive the owner being told to stop). Async-signal-safe.
void forward_signal_to_rerun(int sig) noexcept;

struct RerunReport {
  int flaky = 0;         // failed, then passed on a later attempt
  int failed = 0;        // failed on every attempt
  int not_rerun = 0;     // beyond the limit of tests re-run per run
};

// Re-runs each failed test (deduplicated by full name) up to `session.config().retries` times, stopping at
// the first pass, and records the verdicts in `session` (test_flaky / test_failed_every_attempt). At most
// `max_tests` tests are re-run: a run with hundreds of failures is broken, not flaky. Does nothing when
// the session does not own the suite (a wrapped binary: `bstest run` re-runs; or a re-run itself).
RerunReport rerun_failed_tests(Session& session, const RerunTarget& target, int max_tests = 50);

// This program as `session` ran it: /proc/self/exe, its original arguments, the working directory, the
// framework and the random seed of a shuffled run.
RerunTarget rerun_target_of(const Session& session);

// The running program's absolute path (/proc/self/exe) and working directory.
std::string current_executable();
std::string current_directory();

}  // namespace bstest
