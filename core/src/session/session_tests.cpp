// Tests, failures and verdicts: each call appends its record to the journal before it returns.
#include "record/limits.hpp"
#include "record/log_records.hpp"
#include "record/test_events.hpp"
#include "base/ids.hpp"
#include "run/exception_capture.hpp"
#include "session/session_impl.hpp"
#include "stack/capture.hpp"

#include <cxxabi.h>

namespace bstest::detail {

namespace {
// A framework's duration longer than this (a year) is reported as it is, but does not date the record.
constexpr double kMaxFrameworkDurationMs = 365.0 * 24 * 3600 * 1000;
}  // namespace

std::string_view SessionImpl::full_name_of(const TestInfo& t) {
  if (!t.full_name.empty()) return t.full_name;
  scratch_name_.assign(t.suite.data(), t.suite.size());
  if (!scratch_name_.empty()) scratch_name_ += '.';
  scratch_name_.append(t.name.data(), t.name.size());
  return scratch_name_;
}

void SessionImpl::test_started(const TestInfo& t) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::string_view full_name = full_name_of(t);
  test_.begin(t, full_name, quarantine_of(t, full_name));
  stack::clear_throw_stack();  // a throw before the test is never its escaped exception
  rec_.clear();
  write_test_started(ctx_, rec_, test_.identity(), test_.start_ns());
  append();
}

void SessionImpl::failure(const Failure& failure) {
  if (!recording()) return;
  if (failure.kind == FailureKind::fatal_error) {  // from inside a signal handler: no lock, no allocation
    test_.add_failure_from_signal(failure, redactor_);
    return;
  }
  // Frameworks report an escaped exception from inside their catch block: its type is still known to the C++
  // runtime there, though neither framework keeps it, and __cxa_throw kept the stack it was thrown from.
  Failure f = failure;
  std::string type;
  bool thrown_here = false;
  if (f.kind == FailureKind::exception) {
    const std::type_info* current = abi::__cxa_current_exception_type();
    thrown_here = current != nullptr && last_throw_on_this_thread().type == current;
    if (f.exception_type.empty() && current != nullptr) {
      type = demangled(*current);
      f.exception_type = type;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (test_.running()) {
    add_failure_locked(f, thrown_here);
    return;
  }
  fixture_failure_locked(FixturePhase::run, {}, f);
}

void SessionImpl::add_failure_locked(const Failure& f, bool thrown_here) {
  test_.add_failure(f, redactor_);
  if (f.kind != FailureKind::exception || f.allowed || test_.has_escaped()) return;
  // The test's escaped exception: the stack it was thrown from goes into the journal now (this thread threw
  // it, and its next throw would replace it), named by the event that will report it, whenever that is
  // written (at the test's end, or with its verdict after re-runs).
  // Once per test: a later iteration of a repeated run (--gtest_repeat) reports no second exception event.
  std::string event_id;
  if (thrown_here && ledger_.escaped_of(test_.as_failed(iteration_)) == nullptr) {
    event_id = random_hex(16);
    std::string line = stack::throw_stack_line(event_id);
    if (line.empty()) {
      event_id.clear();
    } else {
      append_raw(line.data(), line.size());
    }
  }
  test_.note_escaped(f, std::move(event_id), redactor_);
}

void SessionImpl::property(std::string_view key, std::string_view value) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  test_.add_property(key, value, redactor_);
}

void SessionImpl::test_finished(const TestEnd& end) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!test_.running()) return;
  test_.keep_failure_from_signal();
  TestFinishedFacts f = test_.finished_facts();
  f.result = end.result;
  // The record's time is the test's end: the framework's duration after our start, or now.
  if (end.duration_ms >= 0 && end.duration_ms < kMaxFrameworkDurationMs) {
    f.duration_ms = end.duration_ms;
    f.ended_ns = test_.start_ns() + static_cast<std::int64_t>(end.duration_ms * 1e6);
  } else {
    f.ended_ns = mono_now_ns();
    f.duration_ms = end.duration_ms >= 0 ? end.duration_ms : static_cast<double>(f.ended_ns - test_.start_ns()) / 1e6;
  }
  f.skip_reason = end.skip_reason;
  if (!child_ && attempt_ == 1 && end.result == Result::failed && !rerun_owner_) {
    f.rerun_note = cfg_.retries <= 0 ? "re-runs are off (BSTEST_RETRIES=0)"
                                     : "not possible: no re-run owner (link bstest-gtest-main / bstest-catch2-main or "
                                       "use `bstest run`)";
  }
  ledger_.test_ended(test_, end.result, iteration_);
  rec_.clear();
  write_test_finished(ctx_, rec_, f, redactor_);
  append();
  test_.end();

  // Without a re-run owner the verdict is final now: an uncaught exception is an error event (once per test,
  // whatever the iterations of a repeated run).
  if (end.result == Result::failed && !rerun_owner_ && !child_ && test_.has_escaped()) {
    FailedTest t = test_.as_failed(iteration_);
    if (ledger_.report_exception_once(t)) {
      append_events(sentry_line(exception_event(t, &test_.escaped(), {}, ctx_.run(), ci_, context_)));
    }
  }
  if (ledger_.has_repeat_flake()) repeat_flaky_verdict();
}

void SessionImpl::test_not_run(const TestInfo& t, Result result, std::string_view reason) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  ledger_.test_not_run(result, iteration_);
  std::string_view full_name = full_name_of(t);
  if (tally_) tally_->saw(ctx_.run().framework, full_name, t.tags);  // it exists: its entry is not stale
  rec_.clear();
  write_test_not_run(ctx_, rec_, t, full_name, result, reason, redactor_);
  append();
}

void SessionImpl::fixture_failure(FixturePhase phase, std::string_view scope, const Failure& f) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  fixture_failure_locked(phase, scope, f);
}

void SessionImpl::fixture_failure_locked(FixturePhase phase, std::string_view scope, const Failure& f) {
  rec_.clear();
  write_fixture_failed(ctx_, rec_, phase, scope, f, redactor_);
  append();
  std::string where = std::string(to_string(phase)) + (scope.empty() ? "" : " of " + std::string(scope));
  ledger_.fixture_failure(where + ": " + sanitize_utf8(redacted_head(f.message, kMaxSummaryLineBytes, redactor_, true)));
}

void SessionImpl::run_problem(std::string_view message, bool fails_run) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (fails_run) run_failed_ = true;
  rec_.clear();
  write_run_problem(ctx_, rec_, message, fails_run, redactor_);
  append();
}

void SessionImpl::test_flaky(const FailedTest& t, const std::vector<AttemptOutcome>& attempts) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!ledger_.give_verdict(t, true)) return;  // one verdict per test
  rec_.clear();
  write_verdict(ctx_, rec_, t, attempts, true);
  append();
  append_events(verdict_error_lines(t, attempts, true, ledger_.escaped_of(t), ctx_.run(), ci_, context_));
}

void SessionImpl::test_failed_every_attempt(const FailedTest& t, const std::vector<AttemptOutcome>& attempts) {
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!ledger_.give_verdict(t, false)) return;
  rec_.clear();
  write_verdict(ctx_, rec_, t, attempts, false);
  append();
  append_events(verdict_error_lines(t, attempts, false, ledger_.escaped_of(t), ctx_.run(), ci_, context_));
}

// Flaky within one repeated run: its verdict and flaky event now, never one per iteration, none from a re-run
// or a wrapped program (their owner decides).
void SessionImpl::repeat_flaky_verdict() {
  RepeatFlake flake;
  FailedTest t = ledger_.take_repeat_flake(flake);
  if (child_) return;
  std::vector<AttemptOutcome> attempts = {{attempt_, Result::failed, false}};
  rec_.clear();
  write_verdict(ctx_, rec_, t, attempts, true, &flake);
  append();
  ErrorEvent e = error_event(ErrorKind::flaky, t, attempts, ctx_.run(), ci_, context_.environment);
  e.context = context_;
  e.failed_iteration = flake.failed_iteration;
  e.passed_iteration = flake.passed_iteration;
  append_events(sentry_line(e));
}

void SessionImpl::append_events(const std::string& lines) {
  if (!lines.empty()) append_raw(lines.data(), lines.size());
}

}  // namespace bstest::detail
