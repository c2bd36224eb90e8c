// What a test program's run has seen so far, for its summary, its re-runs and its heartbeat: per-test
// counts, the failed tests, the flaky ones (by re-runs or within a --gtest_repeat run), the failures
// outside tests, and each test's result for a re-run's result file. Kept by the session, under its lock.
#pragma once

#include <bstest/session.hpp>

#include "quarantine/run_quarantine.hpp"
#include "record/log_records.hpp"
#include "record/test_events.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace bstest::detail {

class RunningTest;

class RunLedger {
 public:
  Counts counts;

  // A test that ended with `result` in iteration `iteration` of the run (0 unless repeated). Returns true
  // when it is flaky within a repeated run (failed in one iteration, passed in another): it is not re-run,
  // and take_repeat_flake() gives its verdict.
  bool test_ended(const RunningTest& test, Result result, int iteration);
  // A test that never ran (disabled, not started): counted once, in the first iteration.
  void test_not_run(Result result, int iteration);
  bool has_repeat_flake() const noexcept { return pending_repeat_flake_; }
  // The flaky-by-repeat test and its iterations; the verdict is now given.
  FailedTest take_repeat_flake(RepeatFlake& flake);

  // Verdicts after re-runs: false when the test already has one (one verdict per test).
  bool give_verdict(const FailedTest& test, bool flaky);
  bool is_flaky(const FailedTest& test) const;
  // An uncaught-exception event for this test: false when one was reported already.
  bool report_exception_once(const FailedTest& test) { return exception_reported_.insert(test.key()).second; }
  const EscapedException* escaped_of(const FailedTest& test) const;

  void fixture_failure(const std::string& where_and_message);
  const std::vector<FailedTest>& failed() const noexcept { return failed_; }

  // The heartbeat's failure body: the counts, then what failed (first tests, then outside tests).
  std::string failure_report(const std::string& binary, bool any_test_ran) const;

  // The quarantined tests that ran (the first kMaxQuarantinedKept), each once, and how they fared over the
  // iterations and re-runs: counts.quarantined and counts.quarantine_passed follow them.
  std::vector<QuarantinedTest> quarantined_tests(const std::string& program) const;

  // For the result file of a re-run: each test's result, one JSON object per line (a crashed test last).
  void keep_results(bool on) noexcept { keep_results_ = on; }
  std::string result_lines(const RunningTest* crashed) const;

 private:
  void count(Result r);
  void remember_failed(const RunningTest& test, int iteration);
  bool track_repeat(const RunningTest& test, Result r, int iteration);

  // A quarantined test's results so far: it failed (quarantined) unless it also passed (flaky, once a
  // re-run or another iteration says so), or passed (it can be released).
  struct QuarantineState {
    std::string name;
    QuarantineInfo quarantine;
    bool passed = false;
    bool failed = false;
    bool flaky = false;
  };
  template <typename Change>
  void update_quarantined(const std::string& key, const std::string& name, const QuarantineInfo& quarantine,
                          Change change);
  std::vector<QuarantineState> quarantine_states_;
  std::unordered_map<std::string, std::size_t> quarantine_index_;  // by FailedTest::key()

  std::vector<FailedTest> failed_;  // the first kMaxFailedTestsKept, not those flaky in --gtest_repeat
  std::vector<std::string> flaky_keys_;
  std::vector<std::string> fixture_failures_kept_;
  std::unordered_map<std::string, EscapedException> escaped_by_test_;
  std::unordered_set<std::string> exception_reported_;
  std::unordered_set<std::string> verdict_given_;
  // --gtest_repeat: tests that failed in some iteration, and tests skipped in the first.
  struct RepeatState {
    int failed_iteration = 0;
    bool flaky = false;
  };
  std::unordered_map<std::string, RepeatState> repeat_;
  std::unordered_set<std::string> skipped_first_;
  bool pending_repeat_flake_ = false;
  RepeatFlake repeat_flake_;
  FailedTest repeat_flake_test_;
  // For a re-run's result file.
  struct TestResult {
    std::string full_name;
    std::vector<std::string> tags;
    std::string_view result;
  };
  bool keep_results_ = false;
  std::vector<TestResult> results_;
};

}  // namespace bstest::detail
