// `bstest run`'s verdict on the suite and how it is told: the exit code, the summary table on stderr, the
// heartbeat's body, and the summary file for `bstest heartbeat --summaries`.
#pragma once

#include "quarantine/run_quarantine.hpp"
#include "run/suite.hpp"

#include <functional>
#include <string>
#include <vector>

namespace bstest::cli {

struct SuiteVerdict {
  SuiteSummary summary;
  bool ran = false;                   // at least one test ran to a result
  std::vector<std::string> failures;  // one line each: failed tests, crashes, set-up failures, unseen failures
  std::vector<QuarantinedTest> quarantined;  // the quarantined tests that ran, and how they fared
  std::vector<std::string> quarantine;       // in words (quarantine_lines)
  std::vector<std::string> quarantine_ended; // the entries that ended, in words (said at the start too)
};

// Whether a failed test of a program turned out flaky on a re-run.
using IsFlaky = std::function<bool(const ProgramRun&, const FailedTest&)>;

// The suite's verdict. The command's exit code stands, except: 0 when every failure was a flaky test (unless
// flaky tests fail the run) or a quarantined one (`quarantine`: failed or crashed) and bstest can account for
// every failure of the command (`account`: nothing failed that it did not see); 1 when the command exited 0
// although a test failed, a program crashed or a set-up failed. A failing code bstest cannot account for
// adds a line saying so.
SuiteVerdict judge_suite(const std::vector<ProgramRun>& programs, const IsFlaky& is_flaky, int command_exit_code,
                         const ExitAccount& account, bool flaky_fails, const Quarantine& quarantine);

// The body of the ping (under 10 kB): counts, exit code, the failures, then the quarantined tests. A success
// has a body only when there are quarantined tests to list ("" otherwise).
std::string heartbeat_body(const SuiteVerdict& v);

// The summary line and table on stderr.
void print_summary(const SuiteVerdict& v, const std::vector<ProgramRun>& programs, const IsFlaky& is_flaky);

// The summary file (JSON) for `bstest heartbeat --summaries`, with the quarantine's lines. False when it
// could not be written.
bool write_summary_file(const std::string& path, const SuiteVerdict& v, const std::string& run_id);

}  // namespace bstest::cli
