// The quarantine as a run applies it (docs/quarantine.md, "In a run"): which file and which day a program
// reads, what the owner of the run says about the file, and how each quarantined test fared, in words, for
// the run's summary and its heartbeat's body.
//
// The owner of a run is the process that decides it: a test program alone (the provided mains, the
// listener on its own), or `bstest run` for the programs its command starts. It reads the file once, at
// its start, and gives the programs it starts (its command, re-runs) the same file and the same day
// through quarantine_env(), so a run that crosses midnight (UTC) judges every test by one day, the day it
// started, and never by two files.
#pragma once

#include <bstest/session.hpp>

#include "quarantine/quarantine.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace bstest {

// The owner's day, as "YYYY-MM-DD", in the environment of the programs it starts (with BSTEST_QUARANTINE set
// to the file it read, empty when it found none).
constexpr const char* kQuarantineDayVariable = "BSTEST_QUARANTINE_DAY";

// The quarantine of a run, read once at its start (never throws):
// - an owner reads `configured` (BSTEST_QUARANTINE, relative to `start_dir`) or else the file found from
//   `start_dir` upward (Quarantine::load), as of today;
// - a program started by an owner (`started_by_owner`: BSTEST_ROLE=child) that was given the owner's day
//   (`owner_day`, the value of BSTEST_QUARANTINE_DAY) reads only `configured`, the owner's file (none when
//   empty), as of that day. Without a valid day it reads as an owner would.
Quarantine load_run_quarantine(const std::string& configured, const std::string& start_dir, bool started_by_owner,
                               const char* owner_day);

// "BSTEST_QUARANTINE_DAY=2026-01-10" and "BSTEST_QUARANTINE=<the file read>" ("" when none), for the
// environment of each program the owner starts (each replaces a variable of the same name).
std::vector<std::string> quarantine_env(const Quarantine& quarantine);

// What the owner says once, at the start of its run (each line after "bstest: "): each problem of the file
// and that nothing is quarantined therefore, or else each entry whose end date has come.
std::vector<std::string> quarantine_start_lines(const Quarantine& quarantine);
// "<file>: 2 problems: nothing in it is quarantined until they are fixed".
std::string quarantine_problems_line(const Quarantine& quarantine);

// The entry as records and summaries carry it.
QuarantineInfo quarantine_info(const QuarantineEntry& entry);

// How a quarantined test fared in a run.
enum class QuarantineOutcome { failed, crashed, flaky, passed };

struct QuarantinedTest {
  std::string program;  // its test program: "net_test"
  std::string name;     // its full name
  QuarantineInfo quarantine;
  QuarantineOutcome outcome = QuarantineOutcome::failed;
  std::string signal;   // crashed: "SIGSEGV", "exit"
};

// One line of a run's summary and heartbeat body:
//   "quarantined, failed: net_test: Net.Download (until 2026-03-01; https://github.com/example/app/issues/412)"
//   "quarantined, crashed (SIGSEGV): net_test: Net.Resume: the tests after it in net_test did not run (...)"
//   "quarantined, flaky: net_test: Net.Retry (...)"
//   "quarantined, passed: net_test: Parser.Unicode: it can be released (...)"
std::string quarantine_line(const QuarantinedTest& test);
// The lines of a run, failures first (failed, crashed, flaky, then passed).
std::vector<std::string> quarantine_lines(std::vector<QuarantinedTest> tests);
// The entries that have ended, in words (expired_line): the start of the run said them on stderr, its
// heartbeat's body says them again.
std::vector<std::string> ended_lines(const Quarantine& quarantine);

// "quarantine of 'Net.Old*' (<file>:12) matched no test in the last complete run (every test, no filter, not
// a shard) of net_test, parser_test: ..." (without "bstest: ").
std::string stale_line(const Quarantine& quarantine, const QuarantineEntry& entry,
                       const std::vector<QuarantineSeen>& seen);

}  // namespace bstest
