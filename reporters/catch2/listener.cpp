// The Catch2 listener: translates Catch2's events into bstest::Session calls, nothing more. One file for
// Catch2 v2.13 and v3 (BSTEST_CATCH2_MAJOR): the translation is shared, the two listener classes at the end
// only adapt the signatures.
//
// Catch2 facts this relies on (Catch2's interfaces/catch_interfaces_reporter.hpp, internal/catch_run_context.cpp,
// internal/catch_fatal_condition_handler.cpp; v2: the single header's RunContext and FatalConditionHandler):
// - A test case is entered once per leaf section / generator value ("pass"). v3 says so with
//   testCasePartialStarting; v2 re-enters the implicit section named like the test case. The final result
//   is only in testCaseEnded's totals.testCases (a passing [!shouldfail] turns failed there).
// - v2 sends every passing assertion to listeners: that path is a single comparison here.
// - A fatal signal inside a test: Catch2's FatalConditionHandler reports from inside the signal handler
//   (v3 fatalErrorEncountered, then a FatalErrorCondition assertion; v2 only the assertion), then
//   synthetic testCaseEnded / testRunEnded, then restores the previous handler (bstest's) and re-raises.
//   We record the failure and ignore those synthetic ends, so bstest's crash record names the test.
// - v3 reports an invalid test spec before (and instead of) testRunStarting; listing never starts a run.
// - Catch2 (up to 3.7.1) lets one thread at a time use its assertions, so callbacks never overlap; each
//   comes on the thread that made the assertion or runs the tests.
// - v2 listeners derive from StreamingReporterBase, which keeps state: every override calls the base.
#include <bstest/catch2.hpp>

#if BSTEST_CATCH2_MAJOR == 2
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_case_info.hpp>
#include <catch2/catch_version_macros.hpp>
#include <catch2/interfaces/catch_interfaces_config.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef BSTEST_CATCH2_VERSION
#define BSTEST_CATCH2_VERSION ""
#endif

// SKIP() (ResultWas::ExplicitSkip, Counts::skipped) arrived in Catch2 3.3.
#if BSTEST_CATCH2_MAJOR == 3 && (CATCH_VERSION_MINOR >= 3)
#define BSTEST_CATCH2_HAS_SKIP 1
#else
#define BSTEST_CATCH2_HAS_SKIP 0
#endif

namespace bstest::catch2 {

namespace {

std::string_view sv(Catch::StringRef s) { return {s.data(), s.size()}; }
#if BSTEST_CATCH2_MAJOR == 2
std::string_view sv(const std::string& s) { return s; }  // v2 class names and tags
#else
std::string_view sv(const Catch::Tag& t) { return sv(t.original); }
#endif

// The listener object lives for one Catch2 run; the Session outlives it, so that a main owning the exit
// code can finish the run after Catch::Session::run returned.
struct Process {
  Options options;
  std::unique_ptr<Session> session;
};

Process& process() {
  static Process p;
  return p;
}

bool same_place(const Catch::SourceLineInfo& a, const std::string& file, std::size_t line) {
  return a.line == line && a.file != nullptr && file == a.file;
}

// Text built without allocating, for Catch2's fatal-error path (it runs inside a signal handler).
template <std::size_t N>
class FixedText {
 public:
  void clear() noexcept { n_ = 0; }
  void add(std::string_view s) noexcept {
    std::size_t k = std::min(s.size(), N - n_);
    std::memcpy(data_ + n_, s.data(), k);
    n_ += k;
  }
  std::string_view view() const noexcept { return {data_, n_}; }

 private:
  char data_[N];
  std::size_t n_ = 0;
};

// Catch2's events in version-neutral terms, turned into Session calls. One per listener, that is per
// Catch2 run; it keeps the running test case's state (Catch2's objects die after each callback).
class Translator {
 public:
  explicit Translator(const Catch::IConfig& config) : config_(config) {
    if (!process().session) process().session = std::make_unique<Session>();
    fatal_info_.reserve(kFatalInfoLines);
  }

  Session& session() { return *process().session; }
  bool mine() { return session().in_owner_process(); }

  void run_starting() {
    if (started_) return;
    started_ = true;
    RunInfo run;
    run.framework = "catch2";
    run.framework_version = BSTEST_CATCH2_VERSION;
    run.has_random_seed = true;  // Catch2 always seeds (order --order rand, GENERATE(random(...)))
    run.random_seed = config_.rngSeed();
    run.runs_every_test = !config_.hasTestFilters();  // no test spec on the command line
#if BSTEST_CATCH2_MAJOR == 3
    if (config_.shardCount() > 1) {
      run.shard_total = static_cast<int>(config_.shardCount());
      run.shard_index = static_cast<int>(config_.shardIndex());
    }
#endif
    if (process().options.owns_exit_code) session().own_exit_code();
    session().run_started(run);
  }

  void test_starting(const Catch::TestCaseInfo& tc) {
    ++tests_started_;
    name_ = tc.name;
    file_ = tc.lineInfo.file != nullptr ? tc.lineInfo.file : "";
    line_ = tc.lineInfo.line;
    ok_to_fail_ = tc.okToFail();
    should_fail_ = tc.expectedToFail();
    pass_ = 0;
    sections_.clear();
    skip_reason_.clear();
    counted_failures_ = 0;
    missing_assertions_ = false;
    std::vector<std::string_view> tags;
    session().test_started(info_of(tc, tags));
  }

  // v3 only (v2 has no partial events): the pass through the test case, from 0.
  void pass_starting(std::uint64_t part) { pass_ = static_cast<int>(part) + 1; }

  void section_starting(const Catch::SectionInfo& s, bool count_passes) {
    if (same_place(s.lineInfo, file_, line_) && s.name == name_) {  // the implicit section of a new pass
      sections_.clear();
      if (count_passes) ++pass_;
      return;
    }
    sections_.push_back(s.name);
  }

  void section_ended(const Catch::SectionStats& stats) {
    if (same_place(stats.sectionInfo.lineInfo, file_, line_) && stats.sectionInfo.name == name_) {
      sections_.clear();
      missing_assertions_ = missing_assertions_ || stats.missingAssertions;
    } else if (!sections_.empty()) {
      sections_.pop_back();
    }
  }

  // Every assertion that is not a plain pass: failures, INFO-only results, warnings, SKIP.
  void assertion_ended(const Catch::AssertionStats& stats) {
    const Catch::AssertionResult& r = stats.assertionResult;
    const Catch::ResultWas::OfType type = r.getResultType();
    if (type == Catch::ResultWas::FatalErrorCondition) {
      fatal_assertion(stats);
      return;
    }
    if ((type & Catch::ResultWas::FailureBit) == 0) {
#if BSTEST_CATCH2_HAS_SKIP
      if (type == Catch::ResultWas::ExplicitSkip && skip_reason_.empty()) {
        skip_reason_ = static_cast<std::string>(r.getMessage());
        if (skip_reason_.empty()) skip_reason_ = "SKIP()";
      }
#endif
      return;
    }
    const auto message = static_cast<std::string>(r.getMessage());
    // An exception that escaped the test body has no macro of its own (Catch2 says "TEST_CASE", or nothing
    // after an earlier assertion); neither has a fatal signal. Catch2 then shows a placeholder expression.
    const bool escaped = sv(r.getTestMacroName()).empty() || sv(r.getTestMacroName()) == "TEST_CASE";
    const std::string_view macro = escaped ? std::string_view() : sv(r.getTestMacroName());
    Failure f;
    f.file = r.getSourceInfo().file != nullptr ? std::string_view(r.getSourceInfo().file) : std::string_view();
    f.line = static_cast<int>(r.getSourceInfo().line);
    f.macro = macro;
    f.allowed = ok_to_fail_ || r.isOk();  // [!mayfail] / [!shouldfail], or CHECK_NOFAIL
    f.fatal = (r.m_info.resultDisposition & Catch::ResultDisposition::ContinueOnFailure) == 0;  // REQUIRE
    f.pass = pass_;
    std::string expression, expanded, text;
    if (r.hasExpression() && !escaped && type != Catch::ResultWas::FatalErrorCondition) {
      expression = r.getExpression();
      f.expression = expression;
      text = r.getExpressionInMacro();
      if (r.hasExpandedExpression()) {
        expanded = r.getExpandedExpression();
        f.expanded = expanded;
        if (type == Catch::ResultWas::ExpressionFailed) text += " with expansion: " + expanded;
      }
    }
    auto append = [&text](std::string_view part) {
      if (part.empty()) return;
      if (!text.empty()) text += ": ";
      text += part;
    };
    switch (type) {
      case Catch::ResultWas::ExplicitFailure:
        f.kind = FailureKind::explicit_fail;
        append(message.empty() ? std::string(macro) + "()" : message);
        break;
      case Catch::ResultWas::ThrewException:
        f.kind = FailureKind::exception;
        f.fatal = f.fatal || escaped;
        append("unexpected exception with message: " + message);
        break;
      case Catch::ResultWas::DidntThrowException:
        append("no exception was thrown where one was expected");
        break;
      default:
        append(message);
        break;
    }
    f.message = text;
    for (const auto& m : stats.infoMessages) {
      if (m.type == Catch::ResultWas::Info) f.info.push_back(m.message);
    }
    std::string section = section_path();
    f.section = section;
    if (!f.allowed) ++counted_failures_;
    session().failure(f);
  }

  // A fatal signal, reported from inside Catch2's signal handler: from here on nothing allocates or locks
  // (the signal may have come from inside malloc, or while a lock was held). The failure is made of views
  // of Catch2's objects and of this object's buffers, reserved when it was made; the Session takes it the
  // same way, and bstest's crash record, written when Catch2 re-raises the signal, carries it.
  void fatal_assertion(const Catch::AssertionStats& stats) noexcept {
    fatal_ = true;
    const Catch::AssertionResult& r = stats.assertionResult;
    const std::string_view macro = sv(r.m_info.macroName);
    Failure f;
    f.file = r.m_info.lineInfo.file != nullptr ? std::string_view(r.m_info.lineInfo.file) : std::string_view();
    f.line = static_cast<int>(r.m_info.lineInfo.line);
    f.kind = FailureKind::fatal_error;
    f.fatal = true;
    f.allowed = ok_to_fail_;
    f.pass = pass_;
    if (macro != "TEST_CASE") f.macro = macro;  // the last assertion's, as Catch2 reports it
    fatal_text_.clear();
    fatal_text_.add("fatal error condition: ");
    fatal_text_.add(r.m_resultData.message);
    f.message = fatal_text_.view();
    fatal_section_.clear();
    for (std::size_t i = 0; i < sections_.size(); ++i) {
      if (i > 0) fatal_section_.add(" / ");
      fatal_section_.add(sections_[i]);
    }
    f.section = fatal_section_.view();
    fatal_info_.clear();
    for (const auto& m : stats.infoMessages) {
      if (m.type == Catch::ResultWas::Info && fatal_info_.size() < fatal_info_.capacity()) fatal_info_.push_back(m.message);
    }
    f.info.swap(fatal_info_);
    session().failure(f);
    f.info.swap(fatal_info_);
  }

  void fatal_error() { fatal_ = true; }

  void test_ended(const Catch::Totals& totals) {
    if (fatal_) return;  // Catch2's synthetic end after a fatal signal: bstest's crash record follows
    TestEnd end;
    if (totals.testCases.failed > 0) {
      end.result = Result::failed;
      if (counted_failures_ == 0) explain_failure_without_assertion();
#if BSTEST_CATCH2_HAS_SKIP
    } else if (totals.testCases.skipped > 0) {
      end.result = Result::skipped;
      end.skip_reason = skip_reason_.empty() ? std::string_view("SKIP()") : std::string_view(skip_reason_);
#endif
    } else {
      end.result = Result::passed;  // includes failedButOk: [!mayfail] / [!shouldfail] as Catch2 judges them
    }
    session().test_finished(end);
  }

  // A test case Catch2 did not run because --abort / -x stopped the run.
  void test_not_run(const Catch::TestCaseInfo& tc) {
    std::vector<std::string_view> tags;
    const int after = config_.abortAfter();
    std::string why = "not run: Catch2 aborted the run after " + std::to_string(after) + " failed assertion" +
                      (after == 1 ? "" : "s") + " (--abort / -x)";
    session().test_not_run(info_of(tc, tags), Result::skipped, why);
  }

  // A run problem fails the run exactly when Catch2 makes it change the exit code: bstest's verdict never
  // disagrees with the framework's.
  void no_match(std::string_view spec) {
#if BSTEST_CATCH2_MAJOR == 2
    // v2 exits 2 for any unmatched spec under --warn NoTests, whatever else ran; otherwise it ignores it.
    const bool fails = config_.warnAboutNoTests();
#else
    // v3 exits 3 for any unmatched spec under --warn UnmatchedTestSpec, 2 when nothing ran at all.
    const bool fails =
        (tests_started_ == 0 && !config_.zeroTestsCountAsSuccess()) || config_.warnAboutUnmatchedTestSpecs();
#endif
    session().run_problem("no test case matched '" + std::string(spec) + "'", fails);
  }

  void invalid_spec(std::string_view spec) {
    run_starting();  // v3 reports this instead of starting a run
    // v3 refuses to run (exit code 5); v2 runs what it could parse, and its exit code ignores the spec.
    session().run_problem("invalid test spec '" + std::string(spec) + "'", BSTEST_CATCH2_MAJOR == 3);
  }

  void run_ended() {
    if (fatal_) return;  // as in test_ended: the process is about to die by the signal
    if (!session().owns_exit_code()) session().run_finished();
  }

 private:
  static TestInfo info_of(const Catch::TestCaseInfo& tc, std::vector<std::string_view>& tags) {
    for (const auto& t : tc.tags) tags.push_back(sv(t));
    TestInfo i;
    i.suite = sv(tc.className);
    i.name = tc.name;
    i.full_name = tc.name;
    i.class_name = sv(tc.className);
    i.file = tc.lineInfo.file != nullptr ? std::string_view(tc.lineInfo.file) : std::string_view();
    i.line = static_cast<int>(tc.lineInfo.line);
    i.tags = tags;
    return i;
  }

  std::string section_path() const {
    std::string path;
    for (const auto& s : sections_) {
      if (!path.empty()) path += " / ";
      path += s;
    }
    return path;
  }

  // Catch2 failed the test case without a failed assertion: say why, so the record is not a bare FAILED.
  void explain_failure_without_assertion() {
    Failure f;
    f.file = file_;
    f.line = static_cast<int>(line_);
    f.kind = FailureKind::explicit_fail;
    f.message = should_fail_          ? "the test case is tagged [!shouldfail] but passed"
                : missing_assertions_ ? "the test case made no assertion (--warn NoAssertions)"
                                      : "Catch2 judged the test case failed";
    session().failure(f);
  }

  const Catch::IConfig& config_;
  bool started_ = false;
  bool fatal_ = false;
  std::size_t tests_started_ = 0;
  // The running test case.
  std::string name_, file_;
  std::size_t line_ = 0;
  bool ok_to_fail_ = false;
  bool should_fail_ = false;
  bool missing_assertions_ = false;
  int pass_ = 0;
  std::size_t counted_failures_ = 0;
  std::vector<std::string> sections_;
  std::string skip_reason_;
  // For the fatal-error path, reserved up front.
  static constexpr std::size_t kFatalInfoLines = 64;
  FixedText<1024> fatal_text_;
  FixedText<2048> fatal_section_;
  std::vector<std::string_view> fatal_info_;
};

// Runs one translation step for a Catch2 callback: only in the process that started the run (not in a
// child the test forked), and nothing escapes into Catch2.
template <typename... Params, typename... Args>
void on(Translator& t, void (Translator::*step)(Params...), Args&&... args) {
  if (!t.mine()) return;
  try {
    (t.*step)(std::forward<Args>(args)...);
  } catch (...) {
  }
}

}  // namespace

#if BSTEST_CATCH2_MAJOR == 2

// v2: the base is a StreamingReporterBase with state of its own, so every override calls it first.
class BstestListener final : public Catch::TestEventListenerBase {
  using Base = Catch::TestEventListenerBase;

 public:
  explicit BstestListener(const Catch::ReporterConfig& config) : Base(config), t_(*config.fullConfig()) {}
  ~BstestListener() override { on(t_, &Translator::run_ended); }

  void testRunStarting(const Catch::TestRunInfo& i) override {
    Base::testRunStarting(i);
    on(t_, &Translator::run_starting);
  }
  void testCaseStarting(const Catch::TestCaseInfo& tc) override {
    Base::testCaseStarting(tc);
    on(t_, &Translator::test_starting, tc);
  }
  void sectionStarting(const Catch::SectionInfo& s) override {
    Base::sectionStarting(s);
    on(t_, &Translator::section_starting, s, true);
  }
  // Every passing assertion comes here in v2: one comparison, then the base.
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (stats.assertionResult.getResultType() != Catch::ResultWas::Ok) on(t_, &Translator::assertion_ended, stats);
    return Base::assertionEnded(stats);
  }
  void sectionEnded(const Catch::SectionStats& stats) override {
    Base::sectionEnded(stats);
    on(t_, &Translator::section_ended, stats);
  }
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    Base::testCaseEnded(stats);
    on(t_, &Translator::test_ended, stats.totals);
  }
  void testRunEnded(const Catch::TestRunStats& stats) override {
    Base::testRunEnded(stats);
    on(t_, &Translator::run_ended);
  }
  void skipTest(const Catch::TestCaseInfo& tc) override {
    Base::skipTest(tc);
    on(t_, &Translator::test_not_run, tc);
  }
  void noMatchingTestCases(const std::string& spec) override {
    Base::noMatchingTestCases(spec);
    on(t_, &Translator::no_match, spec);
  }
  void reportInvalidArguments(const std::string& arg) override {
    Base::reportInvalidArguments(arg);
    on(t_, &Translator::invalid_spec, arg);
  }

 private:
  Translator t_;
};

#else

class BstestListener final : public Catch::EventListenerBase {
 public:
  explicit BstestListener(const Catch::IConfig* config) : EventListenerBase(config), t_(*config) {}
  ~BstestListener() override { on(t_, &Translator::run_ended); }
  static std::string getDescription() { return "Reports every test case to Better Stack (bstest)"; }

  void testRunStarting(const Catch::TestRunInfo&) override { on(t_, &Translator::run_starting); }
  void testCaseStarting(const Catch::TestCaseInfo& tc) override { on(t_, &Translator::test_starting, tc); }
  void testCasePartialStarting(const Catch::TestCaseInfo&, std::uint64_t part) override {
    on(t_, &Translator::pass_starting, part);
  }
  void sectionStarting(const Catch::SectionInfo& s) override { on(t_, &Translator::section_starting, s, false); }
  void assertionEnded(const Catch::AssertionStats& stats) override { on(t_, &Translator::assertion_ended, stats); }
  void sectionEnded(const Catch::SectionStats& stats) override { on(t_, &Translator::section_ended, stats); }
  void testCaseEnded(const Catch::TestCaseStats& stats) override { on(t_, &Translator::test_ended, stats.totals); }
  void testRunEnded(const Catch::TestRunStats&) override { on(t_, &Translator::run_ended); }
  void skipTest(const Catch::TestCaseInfo& tc) override { on(t_, &Translator::test_not_run, tc); }
  void noMatchingTestCases(Catch::StringRef spec) override { on(t_, &Translator::no_match, sv(spec)); }
  void reportInvalidTestSpec(Catch::StringRef spec) override { on(t_, &Translator::invalid_spec, sv(spec)); }
  void fatalErrorEncountered(Catch::StringRef) override { on(t_, &Translator::fatal_error); }

 private:
  Translator t_;
};

#endif

CATCH_REGISTER_LISTENER(BstestListener)

void configure(Options options) { process().options = options; }

Session* session() { return process().session.get(); }

int finish(int exit_code) {
  Session* s = session();
  if (s == nullptr || !s->owns_exit_code()) return exit_code;
  return s->finish_owned_run(exit_code);
}

}  // namespace bstest::catch2
