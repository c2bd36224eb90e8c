// A suite of test programs run by one command (`bstest run -- meson test ...`): what each program did, as
// read from the journals, and the suite-level records the wrapper writes (verdicts after re-runs, the
// suite summary, the heartbeat).
#pragma once

#include <bstest/config.hpp>
#include "run/rerun.hpp"
#include <bstest/session.hpp>
#include "quarantine/quarantine.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bstest {

namespace detail {
enum class QuarantineNote;  // record/log_records.hpp
}

// What "passed" needs, for a test program that decides for itself (Session) and for `bstest run` alike.
// At least one test ran to a result: passed (flaky included), failed or crashed. Skipped and disabled
// tests did not run: a suite whose every test was skipped tested nothing.
bool any_test_ran(const Counts& counts) noexcept;
// One shard of several (GoogleTest's sharding variables, BSTEST_SHARD_*, Catch2's --shard-count): a shard
// never sends the success ping. A "shard" 0 of 1 is the whole suite.
bool is_sharded(int shard_total) noexcept;

// A failure outside any test (suite or global set-up / tear-down).
struct FixtureFailure {
  std::string where;    // "suite_setup of Net: net_test.cc:5"
  std::string message;  // its message (first 2000 bytes)
};

// The first uncaught exception of a failed test. It need not be the test's first failure: a check may have
// failed before it.
struct TestException {
  std::string type;     // demangled C++ type; "" when unknown
  std::string message;  // the framework's failure message (it holds what()), first 2000 bytes
  std::string file;     // where the framework reported it, "" if unknown
  int line = -1;
};

// One test program of the suite (its first attempt), as its journal tells it.
struct ProgramRun {
  std::string journal;          // journal file path
  std::string binary;           // "math_test"
  std::string framework;
  RerunTarget target;           // how to run it again
  long pid = 0;
  int attempt = 1;
  int shard_index = -1;
  int shard_total = 0;
  bool started = false;
  bool finished = false;        // wrote run_finished
  bool crashed = false;         // wrote run_crashed, or never finished
  std::string crashed_test;     // the test that was running, if known
  QuarantineInfo crashed_quarantine;  // that test's quarantine, when one applied to it
  std::string crash_signal;     // "SIGSEGV", "exit", or "" when unknown
  Counts counts;                // per test of this program
  double duration_ms = 0;
  std::vector<FailedTest> failed;  // its failed tests (first 1000), with their quarantine when one applied
  std::vector<FailedTest> quarantine_passed;  // its quarantined tests that passed (first 1000): name, tags, quarantine
  std::map<std::string, TestException> exceptions;  // of those an exception escaped, by FailedTest::key()
  std::vector<FixtureFailure> fixture_failures;  // its failures outside any test (first 20)
  std::string run_record;       // its run_started record (JSON)
  std::string started_at;       // its run_started record's "dt"
  int returned = -1;            // the status its main returned (gave exit()); -1 when it did not say
  bool exit_completed = false;  // and its exit went through: no static destructor or exit handler ended it
};

// Collects ProgramRun entries from journal lines. Thread-safe.
class SuiteLedger {
 public:
  SuiteLedger();
  ~SuiteLedger();
  void on_line(const std::string& journal, std::string_view line);
  // First attempts only, in the order they started.
  std::vector<ProgramRun> programs() const;

 private:
  struct State;
  mutable std::mutex mu_;
  std::unique_ptr<State> state_;
};

// The test programs of run `run_id`, read from their journals in `bstest_dir`: file reads only, so that a
// slow network never changes the verdict (and the files in which each program noted what its main
// returned, which are removed once read). Programs still writing (left running by the command) are waited
// for at most `wait_ms`. The program that is the command itself (`command_pid`) and died without saying
// why is blamed on the signal that ended it (`command_signal`, 0: none).
std::vector<ProgramRun> read_suite(const std::string& bstest_dir, const std::string& run_id, int wait_ms,
                                   long command_pid = 0, int command_signal = 0);

// How `bstest run`'s command ended.
struct CommandOutcome {
  std::vector<std::string> argv;
  std::string cwd;                   // where it ran (a relative `meson test -C` is read from there)
  long pid = 0;
  int exit_code = 0;                 // 0..255; 128+N when signal N ended it
  int signal = 0;
  std::int64_t started_unix_ms = 0;  // when it started: a test runner's log older than that is another run's
};

// Whether a failing exit code can be forgiven: `accounted` when every failure of the command is a program
// of the suite that bstest saw (its journal), and that program exited exactly as its main returned, its
// exit going through (so nothing failed after its tests). `unseen` names the failures bstest did not see,
// one line each.
struct ExitAccount {
  bool accounted = false;
  std::vector<std::string> unseen;
  // The command is one of the suite's programs, and it died of the signal of its crash in a quarantined test.
  bool quarantined_crash = false;
};

// Accounts for the command's exit code (an exit code of 0 is always accounted for):
//  - the command is one of the suite's programs (its pid): it exited with what its main returned, and its
//    exit went through (no static destructor crashed, no exit handler called _exit() after main); or it
//    died of the signal of its crash in a quarantined test;
//  - `meson test`: every test that `<builddir>/meson-logs/testlog.json` (--logbase, --setup) lists as not
//    passed (FAIL, TIMEOUT, ERROR, ...) is a program of the suite with the same command line that exited
//    with its returncode, as its main returned it (or died of the signal of a quarantined test's crash);
//  - `ctest`: every test that `Testing/Temporary/LastTest.log` (--test-dir) lists as failed is such a
//    program, which returned non-zero (that log keeps no exit codes, so a program that had a flaky test
//    and also failed after its tests is not told apart);
//  - anything else (a script, a program that does not report): not accounted, with nothing to name.
// A runner's log not written while the command ran (missing, older: another run's) is not read.
ExitAccount account_for_exit(const CommandOutcome& command, const std::vector<ProgramRun>& programs);

struct SuiteSummary {
  Counts counts;            // summed over programs, flaky included
  int programs = 0;
  int crashed_programs = 0;
  int exit_code = 0;        // what bstest run exits with
  int command_exit_code = 0;
  double duration_ms = 0;
  bool passed = false;
  int shard_index = -1;
  int shard_total = 0;
};

// The wrapper's own journal, in the run's folder, shipped with the rest.
class SuiteWriter {
 public:
  SuiteWriter(const Config& config, std::string run_id);
  ~SuiteWriter();
  bool open(std::string& error);
  // A test's verdict after re-runs, in the name of the program that ran it (its record and error events).
  void verdict(const ProgramRun& program, const FailedTest& test, const std::vector<AttemptOutcome>& attempts,
               bool flaky);
  // A failure that is final without a verdict (not re-run): the uncaught-exception event, if an exception
  // escaped the test; nothing otherwise.
  void exception(const ProgramRun& program, const FailedTest& test);
  // quarantine_expired or quarantine_stale, in the suite's name.
  void quarantine_note(detail::QuarantineNote note, const QuarantineEntry& entry, const std::string& file,
                       const std::string& message);
  void suite_finished(const SuiteSummary& summary);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes a journal that holds only a heartbeat ping (`bstest heartbeat`, and the suite's ping of `bstest
// run`), so that ship() sends it with the usual retries, on its own (never behind a slow Logs endpoint), and
// a later `bstest flush` sends it if it could not be. Returns the run id used ("" on failure, with `error`
// set).
std::string queue_heartbeat(const Config& config, bool success, int exit_code, const std::string& body,
                            std::string& error);

// A run id: BSTEST_RUN_ID when valid, else a new sortable one ("20261125T181830Z-6b3fe822").
std::string make_run_id();

}  // namespace bstest
