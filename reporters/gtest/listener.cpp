// The GoogleTest listener: translates GoogleTest's events into bstest::Session calls, nothing more.
//
// GoogleTest facts this relies on (see shared reference FRAMEWORKS.md, section 1):
// - OnTestPartResult runs on the thread that made the assertion, while GoogleTest holds its own mutex:
//   never call UnitTest::current_test_info() (or anything that locks) from it. We track the running test
//   ourselves, under our own lock.
// - Failures outside a test (SetUpTestSuite, TearDownTestSuite, global environments) arrive through
//   OnTestPartResult with no running test. They are held until we know where they belong.
// - Tests GoogleTest skips itself (set-up failed, --gtest_fail_fast) get OnTestStart / a kSkip part with an
//   empty message / OnTestEnd with start_timestamp() == 0; we name the cause.
// - A suite whose every test is DISABLED_ gets no event at all; disabled tests are found at the end of the
//   first iteration. OnTestDisabled fires in every shard: only reportable tests are reported.
// - Death-test children get no events (forwarding is off); we also refuse to act in one.
#include <bstest/gtest.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#ifndef BSTEST_GTEST_VERSION
#define BSTEST_GTEST_VERSION ""
#endif

namespace bstest::gtest {

namespace {

std::string_view sv(const char* s) { return s != nullptr ? std::string_view(s) : std::string_view(); }

// GoogleTest 1.14+ ends every message with one '\n'; drop it so messages read the same everywhere.
std::string_view trim_message(const char* m) {
  std::string_view s = sv(m);
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A failure GoogleTest reported outside any test, copied out of the callback.
struct HeldFailure {
  std::string file;
  int line = -1;
  std::string message;
  bool fatal = false;
  bool skip = false;
};

TestInfo info_of(const ::testing::TestInfo& t, std::string& full_name) {
  full_name.assign(t.test_suite_name());
  full_name += '.';
  full_name += t.name();
  TestInfo i;
  i.suite = sv(t.test_suite_name());
  i.name = sv(t.name());
  i.full_name = full_name;
  i.type_param = sv(t.type_param());
  i.value_param = sv(t.value_param());
  i.file = sv(t.file());
  i.line = t.line();
  return i;
}

bool is_disabled_name(const ::testing::TestInfo& t) {
  return starts_with(sv(t.name()), "DISABLED_") || starts_with(sv(t.test_suite_name()), "DISABLED_");
}

class Listener final : public ::testing::EmptyTestEventListener {
 public:
  explicit Listener(InstallOptions options) : options_(options) {}

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
    const char* total = std::getenv("GTEST_TOTAL_SHARDS");
    const char* index = std::getenv("GTEST_SHARD_INDEX");
    if (total != nullptr && index != nullptr) {
      int t = std::atoi(total);
      int i = std::atoi(index);
      if (t > 0 && i >= 0 && i < t) {
        run.shard_total = t;
        run.shard_index = i;
      }
    }
    shuffle_ = GTEST_FLAG_GET(shuffle);
    run.has_random_seed = shuffle_;
    run.random_seed = static_cast<std::uint64_t>(unit.random_seed());
    fail_fast_ = GTEST_FLAG_GET(fail_fast);
    // Failures are only provisional when someone will re-run them.
    session_.set_rerun_owner(options_.rerun_owner && session_.config().retries > 0);
    session_.run_started(run);
  }

  void OnTestIterationStart(const ::testing::UnitTest& unit, int iteration) override {
    if (!mine()) return;
    iteration_ = iteration;
    global_skip_ = false;
    global_fatal_ = false;
    any_failed_ = false;
    session_.iteration_started(iteration, shuffle_, static_cast<std::uint64_t>(unit.random_seed()));
  }

  void OnEnvironmentsSetUpStart(const ::testing::UnitTest&) override { set_phase(Phase::global_setup); }
  void OnEnvironmentsSetUpEnd(const ::testing::UnitTest&) override {
    flush_held(FixturePhase::global_setup, {});
    set_phase(Phase::between);
  }
  void OnEnvironmentsTearDownStart(const ::testing::UnitTest&) override { set_phase(Phase::global_teardown); }
  void OnEnvironmentsTearDownEnd(const ::testing::UnitTest&) override {
    flush_held(FixturePhase::global_teardown, {});
    set_phase(Phase::between);
  }

  void OnTestSuiteStart(const ::testing::TestSuite& suite) override {
    if (!mine()) return;
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = Phase::suite;
    suite_name_ = suite.name();
    tests_started_in_suite_ = 0;
    suite_setup_failed_ = false;
    suite_setup_skip_.clear();
  }

  void OnTestSuiteEnd(const ::testing::TestSuite&) override {
    if (!mine()) return;
    FixturePhase p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      p = tests_started_in_suite_ > 0 ? FixturePhase::suite_teardown : FixturePhase::suite_setup;
    }
    flush_held(p, suite_name_);
    set_phase(Phase::between);
  }

  void OnTestStart(const ::testing::TestInfo& t) override {
    if (!mine()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_phase_for_start_ = tests_started_in_suite_ == 0 ? FixturePhase::suite_setup : FixturePhase::run;
    }
    flush_held(held_phase_for_start_, suite_name_);
    TestInfo info = info_of(t, full_name_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++tests_started_in_suite_;
      current_ = &t;
      skip_message_.clear();
      has_skip_part_ = false;
    }
    session_.test_started(info);
  }

  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!mine() || r.type() == ::testing::TestPartResult::kSuccess) return;
    std::unique_lock<std::mutex> lock(mu_);
    if (current_ != nullptr) {
      if (r.type() == ::testing::TestPartResult::kSkip) {
        has_skip_part_ = true;
        if (skip_message_.empty()) skip_message_ = std::string(trim_message(r.message()));
        return;
      }
      lock.unlock();
      Failure f = failure_of(r);
      session_.failure(f);
      return;
    }
    // Outside any test: hold it until we know where it belongs.
    HeldFailure h;
    h.file = std::string(sv(r.file_name()));
    h.line = r.line_number();
    h.message = std::string(trim_message(r.message()));
    h.fatal = r.fatally_failed();
    h.skip = r.type() == ::testing::TestPartResult::kSkip;
    if (phase_ == Phase::global_setup) {
      if (h.skip) global_skip_ = true;
      if (h.skip) global_skip_message_ = h.message;
      if (h.fatal) global_fatal_ = true;
    } else if (phase_ == Phase::suite && tests_started_in_suite_ == 0) {
      if (h.skip) {
        suite_setup_skip_ = h.message;
      } else {
        suite_setup_failed_ = true;
      }
    }
    if (!h.skip) held_.push_back(std::move(h));
  }

  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (!mine()) return;
    const ::testing::TestResult* result = t.result();
    for (int i = 0; i < result->test_property_count(); ++i) {
      const ::testing::TestProperty& p = result->GetTestProperty(i);
      session_.property(sv(p.key()), sv(p.value()));
    }
    TestEnd end;
    std::string reason;
    if (result->Failed()) {
      end.result = Result::failed;
      any_failed_ = true;
    } else if (result->Skipped()) {
      end.result = Result::skipped;
      std::lock_guard<std::mutex> lock(mu_);
      reason = skip_message_;
      if (reason.empty() && result->start_timestamp() == 0) reason = synthetic_skip_reason();
      if (reason.empty()) reason = "GTEST_SKIP()";
    } else {
      end.result = Result::passed;
    }
    end.skip_reason = reason;
    session_.test_finished(end);
    std::lock_guard<std::mutex> lock(mu_);
    current_ = nullptr;
  }

  void OnTestDisabled(const ::testing::TestInfo& t) override {
    if (!mine() || iteration_ != 0 || !t.is_reportable()) return;
    TestInfo info = info_of(t, full_name_);
    session_.test_not_run(info, Result::disabled, "DISABLED_ prefix");
  }

  void OnTestIterationEnd(const ::testing::UnitTest& unit, int iteration) override {
    if (!mine()) return;
    flush_held(FixturePhase::run, {});
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
        } else if (iteration == 0 && !suite->should_run() && t->is_reportable() && is_disabled_name(*t)) {
          // Suites whose every test is disabled get no OnTestDisabled.
          TestInfo info = info_of(*t, full_name_);
          session_.test_not_run(info, Result::disabled, "DISABLED_ prefix");
        }
      }
    }
  }

  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (!mine()) return;
    if (!options_.rerun_owner) session_.run_finished();
  }

 private:
  enum class Phase { between, global_setup, suite, global_teardown };

  bool mine() const { return !off_ && pid_ != 0 && session_.in_owner_process(); }

  void set_phase(Phase p) {
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = p;
  }

  Failure failure_of(const ::testing::TestPartResult& r) {
    Failure f;
    f.file = sv(r.file_name());
    f.line = r.line_number();
    f.message = trim_message(r.message());
    f.fatal = r.fatally_failed();
    if (r.file_name() == nullptr &&
        (starts_with(f.message, "C++ exception with description") || starts_with(f.message, "Unknown C++ exception"))) {
      f.kind = FailureKind::exception;
    }
    return f;
  }

  void flush_held(FixturePhase phase, const std::string& scope) {
    std::vector<HeldFailure> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (const auto& h : held) {
      Failure f;
      f.file = h.file;
      f.line = h.line;
      f.message = h.message;
      f.fatal = h.fatal;
      if (h.file.empty() && (starts_with(h.message, "C++ exception") || starts_with(h.message, "Unknown C++ exception"))) {
        f.kind = FailureKind::exception;
      }
      session_.fixture_failure(phase, scope, f);
    }
  }

  std::string synthetic_skip_reason() const {
    if (global_fatal_) return "not run: a global Environment::SetUp failed";
    if (suite_setup_failed_) return "not run: SetUpTestSuite of " + suite_name_ + " failed";
    if (!suite_setup_skip_.empty()) return "not run: SetUpTestSuite of " + suite_name_ + " skipped: " + suite_setup_skip_;
    if (fail_fast_ && any_failed_) return "not run: --gtest_fail_fast after an earlier failure";
    return "not run: skipped by GoogleTest";
  }

  InstallOptions options_;
  Session session_;
  pid_t pid_ = 0;
  bool off_ = false;
  bool shuffle_ = false;
  bool fail_fast_ = false;
  int iteration_ = 0;

  std::mutex mu_;  // guards what OnTestPartResult (any thread) touches
  Phase phase_ = Phase::between;
  const ::testing::TestInfo* current_ = nullptr;
  std::string skip_message_;
  bool has_skip_part_ = false;
  std::vector<HeldFailure> held_;
  FixturePhase held_phase_for_start_ = FixturePhase::run;
  std::string suite_name_;
  int tests_started_in_suite_ = 0;
  bool suite_setup_failed_ = false;
  std::string suite_setup_skip_;
  bool global_skip_ = false;
  std::string global_skip_message_;
  bool global_fatal_ = false;
  bool any_failed_ = false;
  std::string full_name_;
};

Listener* g_listener = nullptr;
std::mutex g_install_mu;

}  // namespace

::testing::TestEventListener* install(InstallOptions options) {
  std::lock_guard<std::mutex> lock(g_install_mu);
  if (g_listener == nullptr) {
    g_listener = new Listener(options);
    ::testing::UnitTest::GetInstance()->listeners().Append(g_listener);
  }
  return g_listener;
}

Session* session() { return g_listener != nullptr ? &g_listener->session() : nullptr; }

void finish_run(int exit_code) {
  if (g_listener == nullptr) return;
  g_listener->session().set_exit_code(exit_code);
  g_listener->session().run_finished();
}

}  // namespace bstest::gtest
