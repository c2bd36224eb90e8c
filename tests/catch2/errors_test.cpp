// Flaky test cases, uncaught exceptions and crashes as Better Stack Errors events, with Catch2 programs
// (v2 or v3, as the build found it): re-runs by the provided main, verdicts, exit codes, event fields and
// grouping. The GoogleTest side is tests/gtest/errors_test.cpp.
#include "envelopes.hpp"
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

using namespace bstest::testing;

namespace {

class Catch2Errors : public ::testing::Test {
 protected:
  std::string fixture_main = build_path("BSTEST_TEST_CATCH2_ERRORS_FIXTURE");           // bstest-catch2-main
  std::string fixture_linked = build_path("BSTEST_TEST_CATCH2_ERRORS_FIXTURE_LINKED");  // user's main + bstest-catch2
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult run_fixture(const std::string& binary, std::vector<std::string> args,
                        std::vector<std::pair<std::string, std::string>> env = {}) {
    args.insert(args.begin(), binary);
    auto vars = server.env();
    vars.insert(vars.end(), env.begin(), env.end());  // last: they win
    return run(reporting_run(dir, std::move(args), bstest, 4000, vars));
  }

  std::vector<Json> records() { return parse_all(server.records()); }

  // `bstest run --quiet -- <binary> <args...>` with the same environment.
  RunResult bstest_run(const std::string& binary, std::vector<std::string> args,
                       std::vector<std::pair<std::string, std::string>> env = {}) {
    args.insert(args.begin(), {"run", "--quiet", "--", binary});
    return run_fixture(bstest, std::move(args), std::move(env));
  }

  // Every event that arrived once at least `n` did and a little more time passed, by test.
  std::map<std::string, std::vector<Json>> events_after(std::size_t n) { return events_by_test(envelopes_settled(server, n)); }
};

// The re-run keeps the user's options (here -w NoAssertions, which makes the test case fail): it is
// broken, not flaky. The test spec and the reporter options are the re-run's own.
TEST_F(Catch2Errors, ReRunsKeepTheUsersOptions) {
  RunResult r = run_fixture(fixture_main, {"-w", "NoAssertions", "[noassert]", "-r", "compact"});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  auto all = records();
  EXPECT_TRUE(with_event(all, "test_flaky").empty()) << "the re-run ran without -w NoAssertions";
  auto failed = with_event(all, "test_failed");
  ASSERT_EQ(failed.size(), 1u) << r.err;
  EXPECT_EQ(failed[0].str("test.full_name"), "never asserts");
  ASSERT_EQ(failed[0].size("test.attempts"), 3u);
  EXPECT_EQ(failed[0].str("test.attempts.2.result"), "failed");
}

// A flaky test case that reads its data from the folder the program started in, then changes directory:
// its re-run starts in that folder, and a relative BSTEST_DIR stays the folder it named at start.
TEST_F(Catch2Errors, AReRunStartsWhereTheProgramDidAndARelativeFolderStaysPut) {
  write_file(dir / "testdata.txt", "fixture data\n");
  std::string folder = "bs-" + dir.path().substr(dir.path().rfind('-') + 1);  // relative, and unique
  RunResult r = run_fixture(fixture_main, {"[startdir]"}, {{"BSTEST_DIR", folder}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto flaky = with_event(records(), "test_flaky");
  ASSERT_EQ(flaky.size(), 1u) << r.out << r.err;
  EXPECT_EQ(flaky[0].str("test.full_name"), "reads its data then moves away");
  EXPECT_TRUE(list_files(dir / (folder + "/journal")).empty()) << "everything delivered\n" << r.err;
  EXPECT_TRUE(list_files("/" + folder).empty()) << "the relative folder was resolved after the test moved to /";
}

TEST_F(Catch2Errors, ExceptionEventsHaveTheDemangledTypeAndWhat) {
  RunResult r = run_fixture(fixture_main, {"[exception]"}, {{"BSTEST_RETRIES", "1"}});
  EXPECT_NE(r.exit_code, 0);
  auto ev = events_after(2);
  EXPECT_EQ(ev.size(), 2u);
  ASSERT_EQ(ev["throws a typed exception"].size(), 1u) << r.err;
  const Json& typed = ev["throws a typed exception"][0];
  EXPECT_EQ(typed.str("level"), "error");
  EXPECT_EQ(typed.str("exception.values.0.type"), "fixture::DatabaseError");
  EXPECT_EQ(typed.str("exception.values.0.value"), "connection to db-7 refused");
  EXPECT_EQ(typed.str("fingerprint.1"), "exception");
  EXPECT_EQ(typed.str("fingerprint.2"), "catch2");
  std::size_t n = typed.size("exception.values.0.stacktrace.frames");
  ASSERT_GE(n, 2u);
  std::string last = "exception.values.0.stacktrace.frames." + std::to_string(n - 1) + ".";
  EXPECT_EQ(typed.str(last + "package"), fixture_main) << "thrown in the test program";
  EXPECT_TRUE(typed.boolean(last + "in_app"));
  // The function TEST_CASE defines: C_A_T_C_H_T_E_S_T_<n>() (v2), CATCH2_INTERNAL_TEST_<n>() (v3).
  std::string thrower = typed.str(last + "function");
  EXPECT_TRUE(thrower.find("C_A_T_C_H_T_E_S_T") != std::string::npos ||
              thrower.find("CATCH2_INTERNAL_TEST") != std::string::npos)
      << thrower;
  EXPECT_EQ(typed.str(last + "instruction_addr").rfind("0x", 0), 0u);

  ASSERT_EQ(ev["throws after a failed check"].size(), 1u) << "a failed check came first: still an exception event";
  const Json& after = ev["throws after a failed check"][0];
  EXPECT_EQ(after.str("exception.values.0.type"), "std::invalid_argument");
  EXPECT_EQ(after.str("exception.values.0.value"), "bad input 7");
}

// Under `bstest run` too: the exception, not the check that failed before it, is the test case's event,
// whether the test case is re-run (a verdict) or not (a final failure).
TEST_F(Catch2Errors, UnderBstestRunAnExceptionAfterAFailedCheckIsAnExceptionEvent) {
  for (const char* retries : {"1", "0"}) {
    SCOPED_TRACE(std::string("BSTEST_RETRIES=") + retries);
    server.reset_received();
    RunResult r = bstest_run(fixture_main, {"throws after a failed check"}, {{"BSTEST_RETRIES", retries}});
    EXPECT_NE(r.exit_code, 0) << r.err;
    auto ev = events_after(1);
    EXPECT_EQ(ev.size(), 1u) << r.err;
    ASSERT_EQ(ev["throws after a failed check"].size(), 1u) << "one event, from bstest run\n" << r.err;
    const Json& e = ev["throws after a failed check"][0];
    EXPECT_EQ(e.str("level"), "error");
    EXPECT_EQ(e.str("exception.values.0.type"), "std::invalid_argument");
    EXPECT_EQ(e.str("exception.values.0.value"), "bad input 7");
    EXPECT_EQ(e.str("fingerprint.1"), "exception");
  }
}

TEST_F(Catch2Errors, CrashesAreFatalEventsWithTheSignal) {
  struct Case {
    const char* tag;
    int signo;
    const char* name;
    const char* test;
  };
  for (Case c : {Case{"[segv]", SIGSEGV, "SIGSEGV", "segfaults"}, Case{"[abort]", SIGABRT, "SIGABRT", "aborts"}}) {
    SCOPED_TRACE(c.tag);
    server.reset_received();
    // Catch2's FatalConditionHandler allocates inside the signal handler (by design): ThreadSanitizer would
    // stop the program there, before anything is reported. Only that report is turned off, for this run.
    const char* tsan = std::getenv("TSAN_OPTIONS");
    std::string tsan_options = std::string(tsan != nullptr ? tsan : "") + ":report_signal_unsafe=0";
    RunResult r = run_fixture(fixture_main, {c.tag}, {{"TSAN_OPTIONS", tsan_options}});
    if (c.signo == SIGSEGV) {
      EXPECT_TRUE(ended_by_segv(r)) << r.err;
    } else {
      EXPECT_EQ(r.signal, SIGABRT) << r.err;
    }
    auto ev = events_after(1);
    EXPECT_EQ(ev.size(), 1u);
    ASSERT_EQ(ev[c.test].size(), 1u) << r.err;
    const Json& e = ev[c.test][0];
    EXPECT_EQ(e.str("level"), "fatal");
    EXPECT_EQ(e.str("exception.values.0.type"), c.name);
    EXPECT_EQ(e.num("exception.values.0.mechanism.meta.signal.number"), c.signo);
    EXPECT_EQ(e.str("fingerprint.1"), "crash");
    EXPECT_EQ(e.str("fingerprint.4"), c.test);
    EXPECT_EQ(e.str("tags.framework"), "catch2");
  }
}

TEST_F(Catch2Errors, AFlakyTestCaseIsOneIssueAcrossRuns) {
  std::vector<Json> seen;
  for (int run = 0; run < 2; ++run) {
    server.reset_received();
    RunResult r = run_fixture(fixture_main, {"[flaky]"});
    EXPECT_EQ(r.exit_code, 0) << "flaky does not fail the run\n" << r.err;
    auto ev = events_after(1);
    EXPECT_EQ(ev.size(), 1u);
    ASSERT_EQ(ev["flaky once"].size(), 1u) << "one event per flaky test case, not per attempt";
    seen.push_back(ev["flaky once"][0]);
  }
  const Json& a = seen[0];
  const Json& b = seen[1];
  EXPECT_EQ(a.str("level"), "warning");
  EXPECT_EQ(a.str("exception.values.0.type"), "FlakyTest");
  EXPECT_NE(a.str("event_id"), b.str("event_id"));
  EXPECT_EQ(a.size("fingerprint"), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.str("fingerprint." + std::to_string(i)), b.str("fingerprint." + std::to_string(i)));
}

TEST_F(Catch2Errors, WithOnlyTheListenerAFailureIsFinal) {
  RunResult r = run_fixture(fixture_linked, {"[flaky]"}, {{"BSTEST_RETRIES", "2"}});
  EXPECT_NE(r.exit_code, 0);
  auto fin = with_event(records(), "test_finished");
  ASSERT_EQ(fin.size(), 1u) << "no re-run";
  EXPECT_EQ(fin[0].str("test.rerun").rfind("not possible: no re-run owner", 0), 0u) << fin[0].str("test.rerun");
  EXPECT_TRUE(with_event(records(), "test_flaky").empty());

  server.reset_received();
  RunResult off = run_fixture(fixture_main, {"[flaky]"}, {{"BSTEST_RETRIES", "0"}});
  EXPECT_NE(off.exit_code, 0) << "without re-runs a failure is a failure";
  fin = with_event(records(), "test_finished");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0].str("test.rerun"), "re-runs are off (BSTEST_RETRIES=0)");
}

// The provided main owns the exit code: exit(0) inside a test case ended the run early, which is no pass.
TEST_F(Catch2Errors, ExitZeroInsideATestCaseDoesNotPassTheRun) {
  RunResult r = run_fixture(fixture_main, {"[exit]"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto ev = events_after(1);
  ASSERT_EQ(ev["exits with zero"].size(), 1u);
  EXPECT_EQ(ev["exits with zero"][0].str("level"), "fatal");
  EXPECT_EQ(ev["exits with zero"][0].str("exception.values.0.value"), "exits with zero called exit() during the test");
}

#if BSTEST_CATCH2_MAJOR == 3
// The tags of a record's test, in order.
std::vector<std::string> tags_of(const Json& record) {
  std::vector<std::string> tags;
  for (std::size_t i = 0; i < record.size("test.tags"); ++i) tags.push_back(record.str("test.tags." + std::to_string(i)));
  return tags;
}

// Catch2 v3 runs test cases of one name told apart by their tags: each is re-run alone and judged by its
// name and tags, by the provided main and by `bstest run` alike. One that fails every time next to one
// that passes is broken, not flaky; one that is flaky next to a broken one is flaky, and only it.
TEST_F(Catch2Errors, TestCasesOfOneNameAreReRunAndJudgedByNameAndTags) {
  const std::vector<std::string> broken = {".", "broken", "dup"}, once = {".", "dup", "once"};
  for (bool wrapped : {false, true}) {
    SCOPED_TRACE(wrapped ? "bstest run" : "provided main");
    server.reset_received();
    RunResult r = wrapped ? bstest_run(fixture_main, {"[dup]~[once]"}) : run_fixture(fixture_main, {"[dup]~[once]"});
    EXPECT_EQ(r.exit_code, 42) << "Catch2's code for failures stands\n" << r.err;
    auto all = records();
    EXPECT_TRUE(with_event(all, "test_flaky").empty()) << r.err;
    auto failed = with_event(all, "test_failed");
    ASSERT_EQ(failed.size(), 1u) << r.err;
    EXPECT_EQ(failed[0].str("test.full_name"), "one name");
    EXPECT_EQ(tags_of(failed[0]), broken);
    ASSERT_EQ(failed[0].size("test.attempts"), 3u);
    EXPECT_EQ(failed[0].str("test.attempts.1.result"), "failed");
    EXPECT_EQ(failed[0].str("test.attempts.2.result"), "failed");
    for (const auto& f : with_event(all, "test_finished")) {
      if (f.num("run.attempt") > 1) EXPECT_EQ(tags_of(f), broken) << "a re-run runs that test case alone";
    }
    if (wrapped) {
      auto suite = with_event(all, "suite_finished");
      ASSERT_EQ(suite.size(), 1u) << r.err;
      EXPECT_EQ(suite[0].num("summary.failed"), 1);
      EXPECT_EQ(suite[0].num("summary.flaky"), 0);
    }

    server.reset_received();
    RunResult both = wrapped ? bstest_run(fixture_main, {"[dup]"}) : run_fixture(fixture_main, {"[dup]"});
    EXPECT_EQ(both.exit_code, 42) << both.err;
    all = records();
    auto flaky = with_event(all, "test_flaky");
    ASSERT_EQ(flaky.size(), 1u) << both.err;
    EXPECT_EQ(tags_of(flaky[0]), once);
    failed = with_event(all, "test_failed");
    ASSERT_EQ(failed.size(), 1u) << both.err;
    EXPECT_EQ(tags_of(failed[0]), broken);
    auto ev = events_after(1);
    ASSERT_EQ(ev["one name"].size(), 1u) << "the flaky one's warning, nothing for the broken one\n" << both.err;
    EXPECT_EQ(ev["one name"][0].str("exception.values.0.type"), "FlakyTest");
  }
}
#endif

}  // namespace
