// Telling flaky from broken: a failed test is run again, alone, in a fresh process of the same program.
//
// One implementation serves every owner of the exit code: the provided mains (bstest-gtest-main,
// bstest-catch2-main) and `bstest run`. The child is told it is a re-run through the environment
// (BSTEST_ROLE=child, BSTEST_ATTEMPT=<n>, the same BSTEST_RUN_ID and BSTEST_DIR), so its records carry the
// attempt number and are shipped with the run; it reports each test's result in a small file
// (BSTEST_RESULT_FILE) that the owner reads back.
//
// A re-run runs in its own process group, with the program's own environment and the working directory it
// started in, for at most BSTEST_RERUN_TIMEOUT_MS (then the group gets SIGTERM, and SIGKILL 2 s later). It
// gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), so a CI that kills its owner does
// not leave it running. Signals ignored when the owner started stay ignored in it. Because it is not in
// the terminal's process group, a Ctrl-C does not reach it by itself: whoever re-runs forwards signals
// with forward_signal_to_rerun() (the provided mains do it with RerunSignalForwarding).
#pragma once

#include <bstest/session.hpp>

#include <cstdint>
#include <functional>
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
  // Its environment ("NAME=value"), as its journal recorded it; without secrets: the variables named in
  // `env_inherited` (tokens, passwords, ...) take their values from the process that re-runs. When
  // `has_env` is false the re-run gets the re-running process's environment (the provided mains: the same).
  bool has_env = false;
  std::vector<std::string> env;
  std::vector<std::string> env_inherited;
};

// The command line that runs only `test`: GoogleTest --gtest_filter (the name with the filter's special
// characters turned into '?', plus --gtest_also_run_disabled_tests for a DISABLED_ test and the seed of a
// shuffled run), Catch2 a test spec of its name and tags. The user's other options are kept; those that
// select, order, repeat, shard, list or report tests are dropped.
std::vector<std::string> rerun_command(const RerunTarget& target, const FailedTest& test);

// The Catch2 (v2.13 and v3) test spec of the test case named `name` that has every one of `tags`: the
// name quoted, each tag in brackets, all of them required (`"same name"[dup][linux]`), with backslash,
// comma, quote and brackets escaped. It may select more than that test case (another one of the same name
// with more tags, a name that starts or ends with '*'): the re-run's result is read back by name and tags.
std::string catch2_test_spec(std::string_view name, const std::vector<std::string>& tags = {});

// GoogleTest --gtest_filter has no escapes: ':' separates patterns, '-' starts the negative ones, '*' and
// '?' are wildcards. Each of them becomes '?' (the result is read back by exact name).
std::string gtest_filter_for(std::string_view full_name);

constexpr int kDefaultRerunTimeoutMs = 300000;

// Runs `test` alone, as attempt `attempt`, and waits for it, at most `timeout_ms` (<= 0: no limit); a
// re-run that takes longer is killed (its process group) and counts as a crashed attempt with
// timed_out set. The child's output goes to this process's stdout/stderr.
// `extra_env` ("NAME=value") replaces the variables of the same name in its environment.
AttemptOutcome rerun_once(const RerunTarget& target, const FailedTest& test, int attempt, const std::string& run_id,
                          const std::string& dir, int timeout_ms = kDefaultRerunTimeoutMs,
                          const std::vector<std::string>& extra_env = {});

// Async-signal-safe, for a signal handler of whoever re-runs (`bstest run`, the provided mains): sends
// `sig` to the process group of the re-run running now, if any, and remembers it, so that no further
// attempt starts (rerun_tests stops; rerun_once returns at once, with a failed attempt).
void forward_signal_to_rerun(int sig) noexcept;
// The signal forward_signal_to_rerun() was given last; 0 when none.
int rerun_interrupted_by() noexcept;

// While it lives, SIGINT, SIGTERM and SIGHUP are forwarded to the running re-run (and remembered) instead
// of killing this process, except those this process ignores (they stay ignored, in re-runs too); the
// previous handlers come back when it is destroyed. For the provided mains,
// around their re-runs: afterwards they end the run and die by the signal (raise_interrupting_signal).
class RerunSignalForwarding {
 public:
  RerunSignalForwarding();
  ~RerunSignalForwarding();
  RerunSignalForwarding(const RerunSignalForwarding&) = delete;
  RerunSignalForwarding& operator=(const RerunSignalForwarding&) = delete;

 private:
  struct Saved;
  Saved* saved_;
};

// When a signal interrupted the re-runs: dies by it (default action), as the program would have without
// re-runs. Returns otherwise.
void raise_interrupting_signal() noexcept;

// For the owners of the exit code (the provided mains), called once in the process that runs the tests:
// from now until end_exit_guard(), an exit with status 0 (a test that called exit(0)) makes the process
// exit 1 instead, since the run did not finish. A forked child is left alone. glibc only sees the status;
// elsewhere any early exit becomes 1.
void guard_early_exit() noexcept;
void end_exit_guard() noexcept;

struct RerunReport {
  int flaky = 0;         // failed, then passed on a later attempt
  int failed = 0;        // failed on every attempt
  int not_rerun = 0;     // beyond the limit of tests re-run per run, interrupted by a signal, or not re-runnable
};

// What became of a failed test.
enum class RerunVerdict : std::uint8_t {
  flaky,        // failed, then passed on a later attempt
  failed,       // failed on every attempt
  interrupted,  // a signal stopped its re-runs before it passed: the attempts so far, no verdict
  not_rerun,    // re-runs are off, beyond the limit, after a signal, or no way to start it again
};

// A run with hundreds of failures is broken, not flaky: at most this many tests are re-run per run.
constexpr int kMaxRerunTests = 50;

// A failed test to re-run, and the program to re-run it in.
struct RerunJob {
  const RerunTarget* target = nullptr;  // nullptr: there is no way to start that program again
  const FailedTest* test = nullptr;
  std::string program;                  // for messages, when tests of several programs are re-run: "net_test"
};

struct RerunSettings {
  int retries = 0;  // attempts after the first; <= 0: nothing is re-run (every verdict is not_rerun)
  std::string run_id;
  std::string dir;
  int timeout_ms = kDefaultRerunTimeoutMs;
  int max_tests = kMaxRerunTests;
  std::vector<std::string> env;  // set in every re-run ("NAME=value"): the owner's quarantine file and day
};

// The one re-run loop of every owner of the exit code (the provided mains and `bstest run`): runs each test
// of `jobs` again, alone (rerun_once), as attempts 2..retries+1, until an attempt passes or a signal
// interrupts the re-runs (forward_signal_to_rerun), and hands `decided` its verdict with every attempt,
// the first (failed) one included, by the job's index, in order. A test listed twice (the iterations of
// a repeated run) is re-run and decided once (same target, same FailedTest::key()). After an interruption,
// and beyond `max_tests` tests, the verdict is not_rerun. Interrupted and not re-run tests count as
// not_rerun in the report. Says on stderr what it does ("bstest: re-running ...").
RerunReport rerun_tests(const std::vector<RerunJob>& jobs, const RerunSettings& settings,
                        const std::function<void(std::size_t job, RerunVerdict verdict,
                                                 const std::vector<AttemptOutcome>& attempts)>& decided);


}  // namespace bstest
