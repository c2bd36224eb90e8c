#include "session/run_ledger.hpp"

#include "record/json_writer.hpp"
#include "record/limits.hpp"
#include "record/redactor.hpp"
#include "session/running_test.hpp"

#include <algorithm>

namespace bstest::detail {

namespace {
constexpr std::size_t kMaxFailedTestsKept = 1000;
constexpr std::size_t kMaxFixtureFailuresKept = 20;
constexpr std::size_t kMaxQuarantinedKept = 1000;

// FailedTest::key() of a running test.
std::string key_of(const RunningTest& test) {
  FailedTest t;
  t.full_name = test.full_name();
  t.tags = test.tags();
  return t.key();
}

bool counts_as_quarantined(bool passed, bool failed, bool flaky) { return failed && !passed && !flaky; }
bool counts_as_releasable(bool passed, bool failed, bool flaky) { return passed && !failed && !flaky; }
}  // namespace

template <typename Change>
void RunLedger::update_quarantined(const std::string& key, const std::string& name, const QuarantineInfo& quarantine,
                                   Change change) {
  auto it = quarantine_index_.find(key);
  if (it == quarantine_index_.end()) {
    if (quarantine_states_.size() >= kMaxQuarantinedKept) return;
    it = quarantine_index_.emplace(key, quarantine_states_.size()).first;
    quarantine_states_.push_back({name, quarantine});
  }
  QuarantineState& s = quarantine_states_[it->second];
  if (counts_as_quarantined(s.passed, s.failed, s.flaky)) --counts.quarantined;
  if (counts_as_releasable(s.passed, s.failed, s.flaky)) --counts.quarantine_passed;
  change(s);
  if (counts_as_quarantined(s.passed, s.failed, s.flaky)) ++counts.quarantined;
  if (counts_as_releasable(s.passed, s.failed, s.flaky)) ++counts.quarantine_passed;
}

std::vector<QuarantinedTest> RunLedger::quarantined_tests(const std::string& program) const {
  std::vector<QuarantinedTest> out;
  for (const auto& s : quarantine_states_) {
    if (!s.passed && !s.failed) continue;  // skipped
    QuarantinedTest t;
    t.program = program;
    t.name = s.name;
    t.quarantine = s.quarantine;
    t.outcome = s.flaky || (s.passed && s.failed) ? QuarantineOutcome::flaky
                : s.failed                        ? QuarantineOutcome::failed
                                                  : QuarantineOutcome::passed;
    out.push_back(std::move(t));
  }
  return out;
}

void RunLedger::count(Result r) {
  ++counts.total;
  switch (r) {
    case Result::passed: ++counts.passed; break;
    case Result::failed: ++counts.failed; break;
    case Result::skipped: ++counts.skipped; break;
    case Result::disabled: ++counts.disabled; break;
  }
}

bool RunLedger::test_ended(const RunningTest& test, Result r, int iteration) {
  bool flaky_by_repeat = track_repeat(test, r, iteration);
  if (test.quarantined() && (r == Result::passed || r == Result::failed)) {
    update_quarantined(key_of(test), std::string(test.full_name()), test.quarantine(), [&](QuarantineState& s) {
      (r == Result::passed ? s.passed : s.failed) = true;
    });
  }
  if (r == Result::failed && !flaky_by_repeat) remember_failed(test, iteration);
  if (keep_results_) results_.push_back({std::string(test.full_name()), test.tags(), to_string(r), test.failure_notes()});
  return flaky_by_repeat;
}

void RunLedger::test_not_run(Result r, int iteration) {
  if (iteration == 0) count(r);  // a repeated run counts each test once
}

void RunLedger::remember_failed(const RunningTest& test, int iteration) {
  if (!test.has_escaped() && failed_.size() >= kMaxFailedTestsKept) return;
  FailedTest f = test.as_failed(iteration);
  if (test.has_escaped()) escaped_by_test_.emplace(f.key(), test.escaped());
  if (failed_.size() < kMaxFailedTestsKept) failed_.push_back(std::move(f));
}

// A repeated run (--gtest_repeat) counts each test once, in its first iteration; a later iteration changes
// the count only when the test turns failed (it was skipped before) or flaky (it passed in one iteration
// and failed in another). Returns true when this test is flaky that way.
bool RunLedger::track_repeat(const RunningTest& test, Result r, int iteration) {
  if (iteration == 0) {
    count(r);
    if (r == Result::failed) repeat_[std::string(test.full_name())].failed_iteration = 0;
    if (r == Result::skipped) skipped_first_.emplace(test.full_name());
    return false;
  }
  if (repeat_.empty() && skipped_first_.empty() && r != Result::failed) return false;
  const std::string name(test.full_name());
  auto it = repeat_.find(name);
  if (it != repeat_.end() && it->second.flaky) return true;
  bool was_skipped = skipped_first_.count(name) != 0;
  if (r == Result::failed) {
    if (it != repeat_.end()) return false;  // failed before too
    RepeatState& s = repeat_[name];
    s.failed_iteration = iteration;
    if (was_skipped) {  // skipped, now failed: failed until it passes
      skipped_first_.erase(name);
      if (counts.skipped > 0) --counts.skipped;
      ++counts.failed;
      return false;
    }
    // Passed in every earlier iteration: flaky (and still counted as passed).
    s.flaky = true;
    ++counts.flaky;
    pending_repeat_flake_ = true;
    repeat_flake_ = {iteration, 0};
    repeat_flake_test_ = test.as_failed(iteration);
    return true;
  }
  if (r == Result::passed && was_skipped && it == repeat_.end()) {
    skipped_first_.erase(name);
    if (counts.skipped > 0) --counts.skipped;
    ++counts.passed;
    return false;
  }
  if (r != Result::passed || it == repeat_.end()) return false;
  // Failed in an earlier iteration, passed now: flaky; it is no longer a failed test to re-run.
  it->second.flaky = true;
  ++counts.flaky;
  if (counts.failed > 0) --counts.failed;
  ++counts.passed;
  pending_repeat_flake_ = true;
  repeat_flake_ = {it->second.failed_iteration, iteration};
  repeat_flake_test_ = test.as_failed(iteration);
  for (auto f = failed_.begin(); f != failed_.end();) {
    if (f->full_name != name) {
      ++f;
      continue;
    }
    if (f->iteration == it->second.failed_iteration) repeat_flake_test_ = *f;
    f = failed_.erase(f);
  }
  return true;
}

FailedTest RunLedger::take_repeat_flake(RepeatFlake& flake) {
  pending_repeat_flake_ = false;
  flake = repeat_flake_;
  flaky_keys_.push_back(repeat_flake_test_.key());
  verdict_given_.insert(repeat_flake_test_.key());
  return repeat_flake_test_;
}

bool RunLedger::give_verdict(const FailedTest& test, bool flaky) {
  if (!verdict_given_.insert(test.key()).second) return false;
  if (flaky && test.quarantined()) {
    update_quarantined(test.key(), test.full_name, test.quarantine, [](QuarantineState& s) { s.flaky = true; });
  }
  if (flaky) {
    ++counts.flaky;
    if (counts.failed > 0) --counts.failed;
    ++counts.passed;
    flaky_keys_.push_back(test.key());
  }
  return true;
}

bool RunLedger::is_flaky(const FailedTest& test) const {
  return std::find(flaky_keys_.begin(), flaky_keys_.end(), test.key()) != flaky_keys_.end();
}

const EscapedException* RunLedger::escaped_of(const FailedTest& test) const {
  auto it = escaped_by_test_.find(test.key());
  return it == escaped_by_test_.end() ? nullptr : &it->second;
}

void RunLedger::fixture_failure(const std::string& where_and_message) {
  ++counts.fixture_failures;
  if (fixture_failures_kept_.size() < kMaxFixtureFailuresKept) fixture_failures_kept_.push_back(where_and_message);
}

std::string RunLedger::failure_report(const std::string& binary, bool any_test_ran) const {
  std::string body = binary + ": " + counts_text(counts) + "\n";
  if (!any_test_ran) body += "no test ran\n";
  for (const auto& f : fixture_failures_kept_) body += "outside any test: " + f + "\n";
  std::size_t shown = 0;
  for (const auto& f : failed_) {
    if (is_flaky(f) || f.quarantined()) continue;  // the quarantined ones have lines of their own
    if (++shown > kHeartbeatTestsListed) break;
    body += "FAILED " + f.full_name;
    if (!f.first_failure_file.empty()) body += " " + f.first_failure_file + ":" + std::to_string(f.first_failure_line);
    if (!f.first_failure_message.empty()) body += ": " + std::string(first_line(f.first_failure_message, kHeartbeatLineBytes));
    body += "\n";
    if (body.size() > kMaxHeartbeatBodyBytes) break;
  }
  return body;
}

std::string RunLedger::result_lines(const RunningTest* crashed) const {
  Buf b;
  auto line = [&](std::string_view full_name, const std::vector<std::string>& tags, std::string_view result,
                  const std::vector<FailureNote>& failures) {
    JsonWriter w(b);
    w.begin_object();
    w.string("full_name", full_name);
    if (!tags.empty()) {
      w.begin_array("tags");
      for (const auto& t : tags) w.element(t, kMaxNameBytes);
      w.end_array();
    }
    w.word("result", result);
    if (!failures.empty()) {
      w.begin_array("failures");
      for (const auto& f : failures) {
        w.begin_object();
        if (!f.file.empty()) w.string("file", f.file, kMaxNameBytes);
        if (f.line > 0) w.integer("line", f.line);
        w.string("message", f.message);
        w.end_object();
      }
      w.end_array();
    }
    w.end_line();
  };
  for (const auto& r : results_) line(r.full_name, r.tags, r.result, r.failures);
  if (crashed != nullptr) line(crashed->full_name(), crashed->tags(), "crashed", crashed->failure_notes());
  return b.str();
}

}  // namespace bstest::detail
