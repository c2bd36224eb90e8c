// The GoogleTest listener: translates GoogleTest's events into bstest::Session calls, nothing more.
//
// GoogleTest facts this relies on (googletest/include/gtest/gtest.h, TestEventListener; googletest/src/gtest.cc):
// - OnTestPartResult runs on the thread that made the assertion, while GoogleTest holds its own mutex:
//   never call UnitTest::current_test_info() (or anything that locks) from it. We track the running test
//   ourselves, under our own lock.
// - GoogleTest stores each part in the result it belongs to (a test's, a suite's ad-hoc result, the
//   UnitTest's ad-hoc result) before it calls OnTestPartResult. Where our own view of "the running test"
//   and GoogleTest's differ, GoogleTest's counts decide: a part that arrives while we see no running test
//   is held, and later given to the test GoogleTest gave it to, or recorded as a failure outside any test.
// - Listeners appended before ours get OnTestEnd after ours (end events go in reverse order) and may add
//   failures there (a leak checker). So a test's result is final only at the next OnTestStart,
//   OnTestDisabled, OnTestSuiteEnd or OnTestIterationEnd: test_finished is written then, with the duration
//   measured up to our OnTestEnd. Likewise, failures that earlier listeners add in their OnTestStart belong
//   to the test that is starting.
// - Tests GoogleTest skips itself (set-up failed, --gtest_fail_fast) get OnTestStart / a kSkip part with an
//   empty message / OnTestEnd with start_timestamp() == 0; we name the cause. A global Environment::SetUp
//   that skips gets no test events at all. Whether GoogleTest runs an iteration's tests depends on the
//   UnitTest's ad-hoc result, which is never cleared (environments are set up only in the first iteration
//   unless recreated): we read it, not our own memory of the set-up.
// - DISABLED_ tests get OnTestDisabled only when their suite runs them (not under --gtest_fail_fast, a
//   failed or skipped global set-up, a failed SetUpTestSuite, nor in a wholly disabled suite), and in every
//   shard: the reportable ones that got no event are reported at the end of the first iteration.
// - Death-test children get no events (forwarding is off); we also refuse to act in one.
#include <bstest/gtest.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#ifndef BSTEST_GTEST_VERSION
#define BSTEST_GTEST_VERSION ""
#endif

namespace bstest::gtest {

namespace {

using Clock = std::chrono::steady_clock;

std::string_view sv(const char* s) { return s != nullptr ? std::string_view(s) : std::string_view(); }

// GoogleTest 1.14+ ends every message with one '\n'; drop it so messages read the same everywhere.
std::string_view trim_message(const char* m) {
  std::string_view s = sv(m);
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

// GoogleTest's words for an exception that escaped a test (gtest.cc, FormatCxxExceptionMessage).
bool is_exception_message(std::string_view file, std::string_view message) {
  return file.empty() && (message.rfind("C++ exception with description", 0) == 0 ||
                          message.rfind("Unknown C++ exception", 0) == 0);
}

// A failure or skip GoogleTest reported while we saw no running test, copied out of the callback.
struct HeldPart {
  std::string file;
  int line = -1;
  std::string message;
  bool fatal = false;
  bool skip = false;
};

HeldPart held_of(const ::testing::TestPartResult& r) {
  HeldPart h;
  h.file = std::string(sv(r.file_name()));
  h.line = r.line_number();
  h.message = std::string(trim_message(r.message()));
  h.fatal = r.fatally_failed();
  h.skip = r.type() == ::testing::TestPartResult::kSkip;
  return h;
}

Failure failure_of(const HeldPart& h) {
  Failure f;
  f.file = h.file;
  f.line = h.line;
  f.message = h.message;
  f.fatal = h.fatal;
  if (is_exception_message(f.file, f.message)) f.kind = FailureKind::exception;
  return f;
}

// Failures and skips in a result (what GoogleTest has attributed to it so far).
int parts_reported(const ::testing::TestResult& r) {
  int n = 0;
  for (int i = 0; i < r.total_part_count(); ++i) {
    if (r.GetTestPartResult(i).type() != ::testing::TestPartResult::kSuccess) ++n;
  }
  return n;
}

std::string first_skip_message(const ::testing::TestResult& r) {
  for (int i = 0; i < r.total_part_count(); ++i) {
    const ::testing::TestPartResult& p = r.GetTestPartResult(i);
    if (p.skipped()) return std::string(trim_message(p.message()));
  }
  return {};
}

bool has_property(const ::testing::TestResult& r, int count, const char* key) {
  for (int i = 0; i < count; ++i) {
    if (std::strcmp(r.GetTestProperty(i).key(), key) == 0) return true;
  }
  return false;
}

TestInfo info_of(const ::testing::TestInfo& t, std::string& full_name) {
  TestInfo i;
  i.suite = sv(t.test_suite_name());
  i.name = sv(t.name());
  full_name.assign(i.suite.data(), i.suite.size());
  full_name += '.';
  full_name.append(i.name.data(), i.name.size());
  i.full_name = full_name;
  i.type_param = sv(t.type_param());
  i.value_param = sv(t.value_param());
  i.file = sv(t.file());
  i.line = t.line();
  return i;
}

// GoogleTest's own rule (gtest.cc, kDisableTestFilter "DISABLED_*:*/DISABLED_*", matched against the suite
// name and against the test name): a name is disabled when it starts with DISABLED_ or has "/DISABLED_" in
// it, so `INSTANTIATE_TYPED_TEST_SUITE_P(My, DISABLED_Suite, ...)` gives a disabled `My/DISABLED_Suite/0`.
bool disabled_by_name(std::string_view name) {
  return name.rfind("DISABLED_", 0) == 0 || name.find("/DISABLED_") != std::string_view::npos;
}

bool is_disabled_name(const ::testing::TestInfo& t) {
  return disabled_by_name(sv(t.name())) || disabled_by_name(sv(t.test_suite_name()));
}

class Listener final : public ::testing::EmptyTestEventListener {
 public:
  Listener() = default;

  Session& session() { return session_; }

  void OnTestProgramStart(const ::testing::UnitTest& unit) override {
    if (!GTEST_FLAG_GET(internal_run_death_test).empty() || ::testing::internal::InDeathTestChild()) {
      off_ = true;  // a death-test child: never record anything here
      return;
    }
    pid_ = ::getpid();
    RunInfo run;
    run.framework = "googletest";
    run.framework_version = BSTEST_GTEST_VERSION;
    // Sharding (GTEST_SHARD_INDEX, GTEST_TOTAL_SHARDS) is read by the Session.
    shuffle_ = GTEST_FLAG_GET(shuffle);
    run.has_random_seed = shuffle_;
    run.random_seed = static_cast<std::uint64_t>(unit.random_seed());
    // Every test of the program runs unless a filter selects some ("*" is GoogleTest's default).
    const std::string filter = GTEST_FLAG_GET(filter);
    run.runs_every_test = filter.empty() || filter == "*";
    fail_fast_ = GTEST_FLAG_GET(fail_fast);
    also_run_disabled_ = GTEST_FLAG_GET(also_run_disabled_tests);
    session_.run_started(run);
    // Assertions before RUN_ALL_TESTS (GoogleTest keeps them, and fails the run): we could not see them.
    const ::testing::TestResult& before = unit.ad_hoc_test_result();
    for (int i = 0; i < before.total_part_count(); ++i) {
      const ::testing::TestPartResult& p = before.GetTestPartResult(i);
      if (p.type() == ::testing::TestPartResult::kSuccess) continue;
      if (p.fatally_failed()) fatal_before_run_ = true;
      held_.push_back(held_of(p));
    }
    flush_held(FixturePhase::run, {});
  }

  void OnTestIterationStart(const ::testing::UnitTest& unit, int iteration) override {
    if (!mine()) return;
    iteration_ = iteration;
    any_failed_ = false;
    read_global_state(unit);
    session_.iteration_started(iteration, shuffle_, static_cast<std::uint64_t>(unit.random_seed()));
  }

  void OnEnvironmentsSetUpEnd(const ::testing::UnitTest& unit) override {
    if (!mine()) return;
    flush_held(FixturePhase::global_setup, {});
    read_global_state(unit);
  }
  void OnEnvironmentsTearDownEnd(const ::testing::UnitTest&) override {
    if (!mine()) return;
    flush_held(FixturePhase::global_teardown, {});
  }

  void OnTestSuiteStart(const ::testing::TestSuite& suite) override {
    if (!mine()) return;
    suite_ = &suite;
    suite_name_ = suite.name();
    tests_started_in_suite_ = 0;
  }

  void OnTestSuiteEnd(const ::testing::TestSuite&) override {
    if (!mine()) return;
    close_pending();
    flush_held(tests_started_in_suite_ > 0 ? FixturePhase::suite_teardown : FixturePhase::suite_setup, suite_name_);
  }

  void OnTestStart(const ::testing::TestInfo& t) override {
    if (!mine()) return;
    close_pending();
    bool first = tests_started_in_suite_++ == 0;
    if (first) {
      // Only SetUpTestSuite has run: its outcome, and the suite's properties, are what GoogleTest holds now.
      const ::testing::TestResult& s = suite_->ad_hoc_test_result();
      suite_setup_failed_ = s.Failed();
      suite_setup_skip_ = s.Skipped() ? first_skip_message(s) : std::string();
      suite_properties_ = s.test_property_count();
    }
    // Parts GoogleTest already gave this test (listeners before ours, in their OnTestStart) are the last
    // ones held; the others happened outside any test.
    int early = t.result()->total_part_count() > 0 ? parts_reported(*t.result()) : 0;
    std::vector<HeldPart> held = take_held();
    std::size_t outside = held.size() - std::min(held.size(), static_cast<std::size_t>(early));
    record_outside(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(outside),
                   first ? FixturePhase::suite_setup : FixturePhase::run, suite_name_);
    TestInfo info = info_of(t, full_name_);
    std::lock_guard<std::mutex> lock(mu_);
    session_.test_started(info);
    skip_message_.clear();
    routed_ = 0;
    for (auto it = held.begin() + static_cast<std::ptrdiff_t>(outside); it != held.end(); ++it) give_to_test(*it);
    current_ = &t;
    started_at_ = Clock::now();
  }

  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!mine() || r.type() == ::testing::TestPartResult::kSuccess) return;
    // Under our lock until the Session has it, so OnTestEnd cannot close the test in between.
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ == nullptr) {
      held_.push_back(held_of(r));  // outside any test, or not ours to judge yet
      return;
    }
    ++routed_;
    if (r.type() == ::testing::TestPartResult::kSkip) {
      if (skip_message_.empty()) skip_message_ = std::string(trim_message(r.message()));
      return;
    }
    Failure f;
    f.file = sv(r.file_name());
    f.line = r.line_number();
    f.message = trim_message(r.message());
    f.fatal = r.fatally_failed();
    if (is_exception_message(f.file, f.message)) f.kind = FailureKind::exception;
    session_.failure(f);
  }

  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (!mine()) return;
    // Not final yet (see the top of this file): the record is written by close_pending().
    Clock::time_point now = Clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    current_ = nullptr;
    pending_ = &t;
    pending_ms_ = std::chrono::duration<double, std::milli>(now - started_at_).count();
  }

  void OnTestDisabled(const ::testing::TestInfo& t) override {
    if (!mine()) return;
    close_pending();
    if (iteration_ == 0 && t.is_reportable()) report_disabled(t);
  }

  void OnTestIterationEnd(const ::testing::UnitTest& unit, int iteration) override {
    if (!mine()) return;
    close_pending();
    flush_held(FixturePhase::run, {});
    // GoogleTest counts the tests this loop would report as disabled (reportable, and named DISABLED_ or in
    // a DISABLED_ suite: its kDisableTestFilter); a suite without any is not walked test by test.
    bool report_disabled_tests = iteration == 0 && !also_run_disabled_ && unit.reportable_disabled_test_count() > 0;
    if (!global_skip_ && !report_disabled_tests) return;
    for (int s = 0; s < unit.total_test_suite_count(); ++s) {
      const ::testing::TestSuite* suite = unit.GetTestSuite(s);
      for (int k = 0; k < suite->total_test_count(); ++k) {
        const ::testing::TestInfo* t = suite->GetTestInfo(k);
        if (global_skip_ && t->should_run()) {
          // A global Environment::SetUp called GTEST_SKIP: GoogleTest ran none of these and said nothing.
          TestInfo info = info_of(*t, full_name_);
          std::string why = "a global Environment::SetUp skipped the run";
          if (!global_skip_message_.empty()) why += ": " + global_skip_message_;
          session_.test_not_run(info, Result::skipped, why);
        } else if (report_disabled_tests && t->is_reportable() && is_disabled_name(*t) &&
                   disabled_reported_.count(t) == 0) {
          report_disabled(*t);  // GoogleTest skipped its suite, or the whole suite is disabled
        }
      }
    }
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (!mine()) return;
    if (!session_.owns_exit_code()) session_.run_finished();
  }

 private:
  bool mine() const { return !off_ && pid_ != 0 && session_.in_owner_process(); }

  // What decides whether GoogleTest runs this iteration's tests: its ad-hoc result after the global set-up.
  void read_global_state(const ::testing::UnitTest& unit) {
    const ::testing::TestResult& r = unit.ad_hoc_test_result();
    global_skip_ = r.Skipped();
    global_skip_message_ = global_skip_ ? first_skip_message(r) : std::string();
    global_fatal_ = r.HasFatalFailure();
    unit_ = &r;
    unit_properties_ = r.test_property_count();
  }

  std::vector<HeldPart> take_held() {
    std::vector<HeldPart> held;
    std::lock_guard<std::mutex> lock(mu_);
    held.swap(held_);
    return held;
  }

  // A part GoogleTest attributed to the test the Session has open. Under mu_.
  void give_to_test(const HeldPart& h) {
    ++routed_;
    if (h.skip) {
      if (skip_message_.empty()) skip_message_ = h.message;
      return;
    }
    session_.failure(failure_of(h));
  }

  // Writes test_finished for the test whose OnTestEnd we saw: its result is final now.
  void close_pending() {
    if (pending_ == nullptr) return;
    const ::testing::TestInfo& t = *pending_;
    pending_ = nullptr;
    const ::testing::TestResult& result = *t.result();
    int reported = result.total_part_count() > 0 ? parts_reported(result) : 0;
    {
      // Parts added after our OnTestEnd (by listeners that see OnTestEnd after us) are the first ones held.
      std::lock_guard<std::mutex> lock(mu_);
      std::size_t late = reported > routed_ ? static_cast<std::size_t>(reported - routed_) : 0;
      late = std::min(late, held_.size());
      for (std::size_t i = 0; i < late; ++i) give_to_test(held_[i]);
      held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(late));
    }
    int own = result.test_property_count();
    for (int i = 0; i < own; ++i) {
      const ::testing::TestProperty& p = result.GetTestProperty(i);
      session_.property(sv(p.key()), sv(p.value()));
    }
    // RecordProperty in SetUpTestSuite or at global level: on every test it applies to (the test's own wins).
    const ::testing::TestResult& suite = suite_->ad_hoc_test_result();
    for (int i = 0; i < suite_properties_; ++i) {
      const ::testing::TestProperty& p = suite.GetTestProperty(i);
      if (!has_property(result, own, p.key())) session_.property(sv(p.key()), sv(p.value()));
    }
    for (int i = 0; unit_ != nullptr && i < unit_properties_; ++i) {
      const ::testing::TestProperty& p = unit_->GetTestProperty(i);
      if (!has_property(result, own, p.key()) && !has_property(suite, suite_properties_, p.key())) {
        session_.property(sv(p.key()), sv(p.value()));
      }
    }
    TestEnd end;
    end.duration_ms = pending_ms_;
    std::string reason;
    if (result.Failed()) {
      end.result = Result::failed;
      any_failed_ = true;
    } else if (result.Skipped()) {
      end.result = Result::skipped;
      {
        std::lock_guard<std::mutex> lock(mu_);
        reason = skip_message_;
      }
      if (reason.empty() && result.start_timestamp() == 0) reason = synthetic_skip_reason();
      if (reason.empty()) reason = "GTEST_SKIP()";
    } else {
      end.result = Result::passed;
    }
    end.skip_reason = reason;
    session_.test_finished(end);
  }

  void report_disabled(const ::testing::TestInfo& t) {
    if (!disabled_reported_.insert(&t).second) return;
    TestInfo info = info_of(t, full_name_);
    session_.test_not_run(info, Result::disabled, "DISABLED_ prefix");
  }

  void flush_held(FixturePhase phase, const std::string& scope) {
    std::vector<HeldPart> held = take_held();
    record_outside(held.begin(), held.end(), phase, scope);
  }

  // Parts outside any test: failures are records of their own (and fail the run); a skip there changes no
  // test's result (or is named on each test it skipped), so it is a note.
  void record_outside(std::vector<HeldPart>::const_iterator from, std::vector<HeldPart>::const_iterator to,
                      FixturePhase phase, const std::string& scope) {
    for (auto it = from; it != to; ++it) {
      if (it->skip) {
        std::string note = "GTEST_SKIP() outside any test (" + std::string(to_string(phase));
        if (!scope.empty()) note += " of " + scope;
        note += ")";
        if (!it->message.empty()) note += ": " + it->message;
        session_.run_problem(note, false);
        continue;
      }
      // A suite's failure fails the suite: --gtest_fail_fast stops after it.
      if (!scope.empty()) any_failed_ = true;
      session_.fixture_failure(phase, scope, failure_of(*it));
    }
  }

  std::string synthetic_skip_reason() const {
    if (global_fatal_) {
      return fatal_before_run_ ? "not run: a fatal failure before RUN_ALL_TESTS" : "not run: a global Environment::SetUp failed";
    }
    if (suite_setup_failed_) return "not run: SetUpTestSuite of " + suite_name_ + " failed";
    if (!suite_setup_skip_.empty()) return "not run: SetUpTestSuite of " + suite_name_ + " skipped: " + suite_setup_skip_;
    if (fail_fast_ && any_failed_) return "not run: --gtest_fail_fast after an earlier failure";
    return "not run: skipped by GoogleTest";
  }

  Session session_;
  pid_t pid_ = 0;
  bool off_ = false;

  // Main thread only.
  bool shuffle_ = false;
  bool fail_fast_ = false;
  bool also_run_disabled_ = false;
  bool fatal_before_run_ = false;
  int iteration_ = 0;
  bool global_skip_ = false;
  std::string global_skip_message_;
  bool global_fatal_ = false;
  const ::testing::TestResult* unit_ = nullptr;
  int unit_properties_ = 0;
  const ::testing::TestSuite* suite_ = nullptr;
  std::string suite_name_;
  int tests_started_in_suite_ = 0;
  bool suite_setup_failed_ = false;
  std::string suite_setup_skip_;
  int suite_properties_ = 0;
  bool any_failed_ = false;
  const ::testing::TestInfo* pending_ = nullptr;  // OnTestEnd seen, test_finished not written yet
  double pending_ms_ = 0;
  Clock::time_point started_at_;
  std::unordered_set<const ::testing::TestInfo*> disabled_reported_;
  std::string full_name_;

  // Guards what OnTestPartResult (any thread) touches. Held while calling the Session (never the other way
  // round), never while calling GoogleTest.
  std::mutex mu_;
  const ::testing::TestInfo* current_ = nullptr;  // between our OnTestStart and OnTestEnd
  int routed_ = 0;                                // parts given to the Session's open test
  std::string skip_message_;
  std::vector<HeldPart> held_;
};

Listener* g_listener = nullptr;
std::mutex g_install_mu;

}  // namespace

::testing::TestEventListener* install(Options options) {
  std::lock_guard<std::mutex> lock(g_install_mu);
  if (g_listener == nullptr) {
    g_listener = new Listener();
    ::testing::UnitTest::GetInstance()->listeners().Append(g_listener);
    // A death test's child runs main() again ("threadsafe" style) and may exit(0) on purpose: it owns nothing.
    if (options.owns_exit_code && GTEST_FLAG_GET(internal_run_death_test).empty()) g_listener->session().own_exit_code();
  }
  return g_listener;
}

Session* session() { return g_listener != nullptr ? &g_listener->session() : nullptr; }

int finish(int exit_code) {
  if (g_listener == nullptr || !g_listener->session().owns_exit_code()) return exit_code;
  return g_listener->session().finish_owned_run(exit_code);
}

}  // namespace bstest::gtest
