// The report of one run, read back from its journals: every test once with its final verdict, the way a
// person or a CI system wants to see it (JUnit XML, the HTML page, the Markdown job summary are written
// from this model by report/*_writer.cpp).
//
// One run is every journal of one run id: under `bstest run`, the programs of the suite (their first
// attempts), the re-runs of their failed tests (attempt 2, 3, ...), and bstest run's own journal (the
// verdicts after re-runs and the suite's summary); for a test program run alone, its journal and those of
// its re-runs. Journals are read from `<BSTEST_DIR>/journal/` and, once every record was delivered to
// Better Stack, from `<BSTEST_DIR>/delivered/` (journal/retention.hpp keeps the last runs there).
#pragma once

#include "env/ci.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bstest::report {

// Each test has exactly one.
enum class Verdict : std::uint8_t {
  passed,
  failed,    // failed, and failed again on every re-run (or was not re-run)
  flaky,     // failed, then passed (on a re-run, or in another --gtest_repeat iteration)
  skipped,
  disabled,  // GoogleTest DISABLED_, never run
  crashed,   // its program died while it ran
};
std::string_view to_string(Verdict v) noexcept;

struct Failure {
  std::string file;  // "" when unknown
  int line = -1;
  std::string message;
  std::string kind;            // assertion, explicit, exception, fatal_error
  std::string exception_type;  // of an escaped exception, when known
  bool fatal = false;
};

// One attempt of a test that was re-run.
struct Attempt {
  int attempt = 1;
  std::string result;           // passed, failed, crashed, timed_out
  std::string signal;           // SIGSEGV when a signal ended it
  double duration_ms = -1;      // -1: the attempt's journal was not found
  std::vector<Failure> failures;
};

struct TestCase {
  std::string suite;            // GoogleTest suite; Catch2 class name (often "")
  std::string name;
  std::string full_name;        // what the framework selects it by
  std::string type_param, value_param;
  std::string file;
  int line = 0;
  std::vector<std::string> tags;
  Verdict verdict = Verdict::passed;
  double duration_ms = 0;       // of its first attempt (summed over --gtest_repeat iterations)
  std::string skip_reason;      // skipped, disabled
  std::vector<Failure> failures;  // failed, crashed: of its first failed run; flaky: of the run that failed
  std::vector<Attempt> attempts;  // after re-runs: every attempt, the first included
  std::vector<std::pair<std::string, std::string>> properties;
  std::string crash;            // crashed: the signal ("SIGSEGV") or how it ended ("exit", "killed")
  std::string note;             // why a failure was not re-run, a repeat run's iterations, ...
  // Its quarantine entry, when one applied (docs/quarantine.md): its failure did not fail the run.
  std::string quarantine_until;  // "YYYY-MM-DD"; "" when not quarantined
  std::string quarantine_reason, quarantine_link;
};

// A failure outside any test: a suite or global set-up / tear-down, or a run problem that fails the run.
struct OutsideFailure {
  std::string where;            // "suite_setup of Net", "run"
  Failure failure;
};

// One test program (its first attempt).
struct Program {
  std::string binary;
  std::string framework, framework_version;
  std::string host;
  long pid = 0;
  std::string started_at;       // its run_started record's dt
  double duration_ms = 0;
  bool finished = false;        // wrote run_finished
  bool running = false;         // not finished, and its writer is still alive
  bool crashed = false;         // wrote run_crashed, or died without finishing
  std::string crash_reason;     // signal, exit, ended
  std::string crash_signal;     // SIGSEGV, or "" when unknown
  std::string crashed_test;     // the test that was running, when known
  std::string crash_message;    // the crash record's message
  std::string crash_exception;  // "std::runtime_error: what()" of an exception nobody caught
  int shard_index = -1, shard_total = 0;
  std::deque<TestCase> tests;     // a deque: 100,000 tests are added without moving the ones before
  std::vector<OutsideFailure> outside;
};

struct Counts {
  std::uint64_t total = 0;      // tests; each in exactly one of the verdicts below
  std::uint64_t passed = 0, failed = 0, flaky = 0, skipped = 0, disabled = 0, crashed = 0;
  std::uint64_t crashed_programs = 0;
  std::uint64_t outside_failures = 0;
  std::uint64_t quarantined = 0;  // failed or crashed tests whose quarantine applied
};

struct RunReport {
  std::string run_id;
  std::string started_at;       // the earliest record's dt
  std::string finished_at;      // the latest record's dt
  double duration_ms = 0;       // bstest run's, else the longest program's
  bool passed = false;
  bool suite = false;           // bstest run wrote this run's verdict
  int exit_code = -1;           // bstest run's exit code; -1 when not known
  bool running = false;         // a program of it is still writing
  std::string bstest_version;
  std::string host;
  detail::CiInfo ci;
  std::string link;             // where the run is in Better Stack (BSTEST_RUN_LINK), "" when unknown
  std::vector<Program> programs;
  Counts counts;
};

// Reads run `run_id` from `bstest_dir`. False, with `error` saying what is wrong and what to do, when the
// run has no journal or no test program record.
bool load_run(const std::string& bstest_dir, const std::string& run_id, RunReport& out, std::string& error);

// The run whose journals were written last ("" with `error` set when there is none).
std::string latest_run(const std::string& bstest_dir, std::string& error);

// The runs that have journals, newest first (for error messages: "runs here: ...").
std::vector<std::string> known_runs(const std::string& bstest_dir);

// The link to the run in Better Stack: `link_template` with every "{run_id}" replaced; "" when empty.
std::string run_link(const std::string& link_template, const std::string& run_id);

}  // namespace bstest::report
