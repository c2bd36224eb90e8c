// bstest::Session: one test program's run, turned into records on disk and shipped to Better Stack.
//
// A reporter (a framework adapter) owns one Session and feeds it the run's events, in this order:
//
//   run_started
//     iteration_started?                (repeated runs: GoogleTest --gtest_repeat)
//       test_started  [failure|property]*  test_finished      (once per test that runs)
//       test_not_run                   (disabled or never-started tests)
//       fixture_failure                (failures outside any test: suite/global set-up and tear-down)
//   run_finished
//
// What each call does: it encodes one JSON record (the exact bytes later sent to Better Stack Logs) and
// appends it to this process's journal file before returning. The call never does network I/O, never
// starts a thread, never throws and never blocks on anything but a short in-process lock. The records are
// sent by a companion process (`bstest ship`, started by run_started) or, when bstest run wraps the test
// command, by that wrapper. run_finished waits for the companion, at most `flush_timeout_ms`, and prints
// one summary line on stderr. Where the companion cannot be started, run_finished ships in this process
// instead, within the same deadline: only then, after the last test, may libcurl start threads here (its
// resolver's), when no test and no death test's fork can meet them.
//
// Threads: failure() and property() may be called from any thread (GoogleTest reports assertions on the
// thread that made them); every other call comes from the thread that runs the tests. A Session created in
// a child process that it did not start in (a fork, a death-test child) ignores every call.
#pragma once

#include <bstest/config.hpp>
#include <bstest/model.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bstest {

// Per-test counts of this process's run: each test once, whatever the attempts and the iterations of a
// repeated run (a test that passed in one iteration and failed in another is flaky, counted as passed).
struct Counts {
  std::uint64_t total = 0;    // tests that started, plus disabled and not-run tests
  std::uint64_t passed = 0;
  std::uint64_t failed = 0;
  std::uint64_t skipped = 0;
  std::uint64_t disabled = 0;
  std::uint64_t flaky = 0;
  std::uint64_t crashed = 0;
  std::uint64_t fixture_failures = 0;  // failures outside any test
  std::uint64_t records_dropped = 0;   // records that could not be written (journal unwritable or full)
  // Quarantined tests (docs/quarantine.md): of the failed and crashed ones (counted there too), those whose
  // quarantine applied, flaky ones aside: they do not fail the run; and those that passed (can be released).
  std::uint64_t quarantined = 0;
  std::uint64_t quarantine_passed = 0;
};

// The quarantine entry that applies to a test (docs/quarantine.md): its failure does not fail the run.
struct QuarantineInfo {
  std::string reason;
  std::string link;   // "" when the entry has none
  std::string until;  // "YYYY-MM-DD": the entry applies before that day; "" when the test is not quarantined
};

// A test that failed, as kept for re-runs and reports.
struct FailedTest {
  std::string suite;
  std::string name;
  std::string full_name;
  std::string file;
  int line = 0;
  int iteration = 0;
  bool disabled = false;            // a DISABLED_ test that was run on request
  std::string first_failure_file;   // empty when unknown
  int first_failure_line = -1;
  std::string first_failure_message; // the first 2000 bytes, secrets redacted
  std::string exception_type;       // when the failure was an uncaught exception of a known type
  std::vector<std::string> tags;    // Catch2's tags, as the test's records list them
  QuarantineInfo quarantine;        // the entry that quarantined it in this run, if one did

  bool quarantined() const noexcept { return !quarantine.until.empty(); }

  // Which test of its program this is: the full name, and the tags (Catch2 v3 runs two test cases of the
  // same name when their tags differ). For sets and maps of tests; names and tags never hold a NUL.
  std::string key() const {
    std::string k = full_name;
    for (const auto& t : tags) {
      k += '\0';
      k += t;
    }
    return k;
  }
};

// How a test fared on each attempt, for a flaky-test report.
struct AttemptOutcome {
  int attempt = 1;
  Result result = Result::failed;
  bool crashed = false;    // the attempt did not finish: a signal, exit() inside the test, a time-out
  int signal = 0;          // the signal that ended it (0: exit() or unknown)
  bool timed_out = false;  // killed after BSTEST_RERUN_TIMEOUT_MS
};

namespace detail {
class SessionImpl;
}

class Session {
 public:
  explicit Session(Config config = Config::from_env());
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Opens the journal, writes run_started, starts the companion shipper, installs the crash handler.
  // Reports configuration problems once, on stderr.
  void run_started(const RunInfo& run) noexcept;
  // A new iteration of a repeated run; the iteration (from 0) and its random seed go on later records.
  void iteration_started(int iteration, bool has_random_seed, std::uint64_t random_seed) noexcept;

  // The test is about to run: its test_started record is on disk before this returns, so a crash inside
  // the test is blamed on it.
  void test_started(const TestInfo& test) noexcept;
  // A failure (or a skip message) of the running test. Any thread. A failure that arrives when no test is
  // running is kept as a failure outside any test. A failure of kind fatal_error may come from inside a
  // signal handler (Catch2's): it is taken without allocating or locking, and the crash record that
  // follows carries it.
  void failure(const Failure& failure) noexcept;
  // A key/value the test recorded (GoogleTest RecordProperty). Any thread.
  void property(std::string_view key, std::string_view value) noexcept;
  // The running test ended; writes test_finished with its result, duration, failures and properties.
  void test_finished(const TestEnd& end) noexcept;

  // A test that will not run: disabled, or skipped without starting (aborted runs). One record.
  void test_not_run(const TestInfo& test, Result result, std::string_view reason) noexcept;
  // A failure outside any test (suite or global set-up / tear-down). `scope` names the suite, if any.
  // Makes the run fail even when every test passed.
  void fixture_failure(FixturePhase phase, std::string_view scope, const Failure& failure) noexcept;
  // A run-level problem that is not a test result ("no test matched 'Foo*'"). `fails_run` marks it as
  // a failure of the run (an invalid test filter, say).
  void run_problem(std::string_view message, bool fails_run) noexcept;

  // --- for a main() that owns the exit code (the provided mains; an adapter's own main) ---
  // Call before the run starts, in the process that runs main() (not in a child that runs main() again, as a
  // GoogleTest death test's "threadsafe" child does). From then on a failure is provisional at test_finished
  // (finish_owned_run() re-runs it), the run ends only in finish_owned_run(), and an exit(0) inside a test
  // makes the process exit 1: the run did not finish.
  void own_exit_code() noexcept;
  bool owns_exit_code() const noexcept;
  // After the framework ran the tests and returned `exit_code`: re-runs each failed test alone, in a fresh
  // process (BSTEST_RETRIES times; GoogleTest and Catch2 programs), writes each test's verdict (test_flaky or
  // test_failed, with their error events), ends the run (run_finished) and returns the exit code to use:
  // `exit_code`, or 0 when every failure was flaky (unless BSTEST_FLAKY_FAILS=1). When a signal stopped the
  // re-runs, the process dies of that signal here, as it would have without re-runs.
  int finish_owned_run(int exit_code) noexcept;

  // Writes run_finished with the summary, waits for the shipper (at most flush_timeout_ms), prints the
  // one-line summary. Safe to call twice; later calls do nothing.
  void run_finished() noexcept;

  // --- reading the run ---
  bool active() const noexcept;  // run_started happened in this process and bstest is enabled
  // False in a child forked after run_started (a death-test child): a reporter does nothing there.
  // Costs no system call, so it can guard every callback.
  bool in_owner_process() const noexcept;
  const Counts& counts() const noexcept;
  const std::vector<FailedTest>& failed_tests() const noexcept;  // first 1000 failed tests, not those flaky in --gtest_repeat
  // True when no test failed or crashed and nothing failed outside a test (flaky tests count as passed
  // unless BSTEST_FLAKY_FAILS=1).
  bool passed() const noexcept;
  const Config& config() const noexcept;
  const std::string& run_id() const noexcept;
  const std::string& framework() const noexcept;

 private:
  std::unique_ptr<detail::SessionImpl> impl_;
};

}  // namespace bstest
