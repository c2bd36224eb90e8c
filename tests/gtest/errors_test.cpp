// Flaky tests, uncaught exceptions and crashes as Better Stack Errors events (Sentry envelopes), with
// GoogleTest binaries: re-runs by the provided main, verdicts, exit codes, event fields and grouping.
#include "envelopes.hpp"
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <string>
#include <thread>

using namespace bstest::testing;

namespace {

class Errors : public ::testing::Test {
 protected:
  std::string fixture = build_path("BSTEST_TEST_GTEST_FIXTURE");
  std::string fixture_main = build_path("BSTEST_TEST_GTEST_FIXTURE_MAIN");
  std::string errors_fixture = build_path("BSTEST_TEST_GTEST_ERRORS_FIXTURE");  // provided main
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult run_fixture(const std::string& binary, std::vector<std::string> args,
                        std::vector<std::pair<std::string, std::string>> env = {}) {
    args.insert(args.begin(), binary);
    auto vars = server.env();
    vars.emplace_back("FIXTURE_FLAKY", "1");
    vars.insert(vars.end(), env.begin(), env.end());  // last: they win
    return run(reporting_run(dir, std::move(args), bstest, 5000, vars));
  }

  // `bstest run -- <command>` with the server and the folder of run_fixture.
  RunResult bstest_run(std::vector<std::string> command, std::vector<std::pair<std::string, std::string>> env = {}) {
    RunSpec spec;
    spec.argv = {bstest, "run", "--quiet", "--"};
    spec.argv.insert(spec.argv.end(), command.begin(), command.end());
    spec.env = server.env();
    for (auto& e : env) spec.env.push_back(e);
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "5000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.cwd = dir.path();
    return run(spec);
  }

  RunResult flush() {
    RunSpec spec;
    spec.argv = {bstest, "flush", dir / "bs", "--deadline-ms", "3000"};
    spec.env = server.env();
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<Envelope> envelopes_after(std::size_t n) { return envelopes_settled(server, n); }
  std::map<std::string, std::vector<Json>> events() { return events_by_test(server.envelopes()); }
};

TEST_F(Errors, FlakyTestsAreReRunAndReportedOnceAsWarnings) {
  RunResult r = run_fixture(fixture_main, {"--gtest_filter=Flaky.*"});
  EXPECT_EQ(r.exit_code, 1) << "a test that failed every attempt fails the run\n" << r.err;
  auto records = parse_all(server.records());
  auto flaky = with_event(records, "test_flaky");
  std::multiset<std::string> flaky_names;  // a second record for a test shows
  for (auto& f : flaky) {
    flaky_names.insert(f.str("test.full_name"));
    EXPECT_EQ(f.str("level"), "warn");
    EXPECT_EQ(f.str("test.result"), "flaky");
    EXPECT_EQ(f.str("test.attempts.0.result"), "failed");
    EXPECT_EQ(f.str("test.attempts.1.result"), "passed");
  }
  EXPECT_EQ(flaky_names, (std::multiset<std::string>{"Flaky.PassesOnSecondAttempt", "Flaky.ThrowsOnFirstAttempt"}));
  auto failed = with_event(records, "test_failed");
  std::multiset<std::string> failed_names;
  for (auto& f : failed) failed_names.insert(f.str("test.full_name"));
  ASSERT_EQ(failed_names, (std::multiset<std::string>{"Flaky.AlwaysFails", "Flaky.AlwaysThrows"}));
  for (auto& f : failed) EXPECT_EQ(f.size("test.attempts"), 3u) << "BSTEST_RETRIES defaults to 2: three attempts";

  // Every attempt is recorded with its attempt number.
  std::map<long long, int> attempts;
  for (auto& t : with_event(records, "test_finished")) {
    if (t.str("test.full_name") == "Flaky.AlwaysFails") ++attempts[t.num("run.attempt")];
  }
  EXPECT_EQ(attempts, (std::map<long long, int>{{1, 1}, {2, 1}, {3, 1}}));

  // Counts are per test, not per attempt.
  auto ends = with_event(records, "run_finished");
  const Json* owner_end = nullptr;
  for (auto& e : ends) {
    if (e.num("run.attempt") == 1) owner_end = &e;
  }
  ASSERT_NE(owner_end, nullptr);
  EXPECT_EQ(owner_end->num("summary.total"), 4);
  EXPECT_EQ(owner_end->num("summary.flaky"), 2);
  EXPECT_EQ(owner_end->num("summary.failed"), 2);
  EXPECT_EQ(owner_end->num("summary.passed"), 2);

  // One error event per test and kind: two flaky warnings, one exception error; none per attempt.
  EXPECT_EQ(envelopes_after(3).size(), 3u);
  auto ev = events();
  ASSERT_EQ(ev["Flaky.PassesOnSecondAttempt"].size(), 1u);
  const Json& f = ev["Flaky.PassesOnSecondAttempt"][0];
  EXPECT_EQ(f.str("level"), "warning");
  EXPECT_EQ(f.str("platform"), "native");
  EXPECT_EQ(f.str("exception.values.0.type"), "FlakyTest");
  std::string value = f.str("exception.values.0.value");
  EXPECT_NE(value.find("Flaky.PassesOnSecondAttempt failed on attempt 1 and then passed"), std::string::npos) << value;
  EXPECT_NE(value.find("fixture_suite.cpp:"), std::string::npos) << value;
  EXPECT_NE(value.find("the network was slow"), std::string::npos) << value;
  // Titled by its type and value: no synthetic flag, no placeholder frames (an assertion has no stack).
  EXPECT_FALSE(f.has("exception.values.0.mechanism.synthetic"));
  EXPECT_FALSE(f.has("exception.values.0.stacktrace")) << "frames are real or absent";
  EXPECT_TRUE(f.boolean("exception.values.0.mechanism.handled"));
  // The failed attempt's assertion is a breadcrumb: file, line, message.
  ASSERT_EQ(f.size("breadcrumbs.values"), 1u);
  EXPECT_EQ(f.str("breadcrumbs.values.0.category"), "assertion");
  EXPECT_EQ(f.str("breadcrumbs.values.0.level"), "error");
  EXPECT_EQ(f.num("breadcrumbs.values.0.data.attempt"), 1);
  EXPECT_EQ(f.str("breadcrumbs.values.0.data.file").substr(f.str("breadcrumbs.values.0.data.file").rfind('/') + 1),
            "fixture_suite.cpp");
  EXPECT_GT(f.num("breadcrumbs.values.0.data.line"), 0);
  EXPECT_NE(f.str("breadcrumbs.values.0.message").find("the network was slow"), std::string::npos)
      << f.str("breadcrumbs.values.0.message");
  EXPECT_EQ(f.size("fingerprint"), 5u);
  EXPECT_EQ(f.str("fingerprint.1"), "flaky");
  EXPECT_EQ(f.str("fingerprint.2"), "googletest");
  EXPECT_EQ(f.str("fingerprint.3"), "gtest_fixture_main");
  EXPECT_EQ(f.str("fingerprint.4"), "Flaky.PassesOnSecondAttempt");
  EXPECT_EQ(f.str("sdk.name"), "bstest");
  EXPECT_EQ(f.str("tags.framework"), "googletest");
  EXPECT_EQ(f.str("tags.test"), "Flaky.PassesOnSecondAttempt");
  EXPECT_EQ(f.str("environment"), "local");
  EXPECT_FALSE(f.str("contexts.os.name").empty());
  EXPECT_FALSE(f.str("contexts.runtime.name").empty());
  EXPECT_EQ(f.size("extra.attempts"), 2u);

  EXPECT_EQ(ev["Flaky.ThrowsOnFirstAttempt"].size(), 1u);
  EXPECT_EQ(ev["Flaky.ThrowsOnFirstAttempt"][0].str("level"), "warning");
  EXPECT_EQ(ev["Flaky.AlwaysFails"].size(), 0u) << "an assertion failing every attempt is a log record, not an error";
  ASSERT_EQ(ev["Flaky.AlwaysThrows"].size(), 1u);
  const Json& ex = ev["Flaky.AlwaysThrows"][0];
  EXPECT_EQ(ex.str("level"), "error");
  EXPECT_EQ(ex.str("exception.values.0.type"), "fixture::DatabaseError") << "captured where GoogleTest caught it";
  EXPECT_EQ(ex.str("exception.values.0.value"), "connection to db-7 refused") << "what(), not GoogleTest's wording";
  EXPECT_EQ(ex.str("fingerprint.1"), "exception");

  for (const auto& e : server.envelopes()) {
    EXPECT_EQ(e.auth.at("sentry_version"), "7");
    EXPECT_EQ(e.auth.at("sentry_key"), server.options().errors_key);
    EXPECT_EQ(e.auth.at("sentry_client").rfind("bstest/", 0), 0u);
  }
}

TEST_F(Errors, ExitCodeIsZeroWhenEveryFailureWasFlakyUnlessAskedOtherwise) {
  const std::vector<std::string> filter = {"--gtest_filter=Flaky.PassesOnSecondAttempt:Flaky.ThrowsOnFirstAttempt"};
  RunResult tolerant = run_fixture(fixture_main, filter);
  EXPECT_EQ(tolerant.exit_code, 0) << tolerant.err;
  auto end = with_event(parse_all(server.records()), "run_finished");
  bool found = false;
  for (auto& e : end) {
    if (e.num("run.attempt") != 1) continue;
    found = true;
    EXPECT_EQ(e.str("summary.result"), "passed");
    EXPECT_EQ(e.num("summary.flaky"), 2);
  }
  EXPECT_TRUE(found);
  RunResult strict = run_fixture(fixture_main, filter, {{"BSTEST_FLAKY_FAILS", "1"}});
  EXPECT_EQ(strict.exit_code, 1) << strict.err;
  server.reset_received();
  RunResult no_reruns = run_fixture(fixture_main, filter, {{"BSTEST_RETRIES", "0"}});
  EXPECT_EQ(no_reruns.exit_code, 1) << "without re-runs a failure is a failure";
  // The provided main is linked: the records say re-runs are off, not that nobody could re-run.
  auto fin = with_event(parse_all(server.records()), "test_finished");
  ASSERT_EQ(fin.size(), 2u);
  for (auto& f : fin) EXPECT_EQ(f.str("test.rerun"), "re-runs are off (BSTEST_RETRIES=0)");
}

// A flaky test that reads its data from the folder the program started in, then changes directory: its
// re-run starts in that folder, and a relative BSTEST_DIR stays the folder it named at start, for the
// re-runs and for the records the program ships itself at its end (without a companion: BSTEST_SHIPPER
// names no program).
TEST_F(Errors, AReRunStartsWhereTheProgramDidAndARelativeFolderStaysPut) {
  write_file(dir / "testdata.txt", "fixture data\n");
  std::string folder = "bs-" + dir.path().substr(dir.path().rfind('-') + 1);  // relative, and unique
  for (bool companion : {true, false}) {
    server.reset_received();
    std::vector<std::pair<std::string, std::string>> env = {{"BSTEST_DIR", folder}};
    if (!companion) env.emplace_back("BSTEST_SHIPPER", dir / "no-such-program");
    RunResult r = run_fixture(errors_fixture, {"--gtest_filter=StartDirectory.*"}, env);
    std::string with = companion ? "with the companion\n" : "without the companion\n";
    EXPECT_EQ(r.exit_code, 0) << with << r.out << r.err;
    auto flaky = with_event(parse_all(server.records()), "test_flaky");
    ASSERT_EQ(flaky.size(), 1u) << with << r.err;
    EXPECT_EQ(flaky[0].str("test.full_name"), "StartDirectory.ReadsItsDataThenMovesAway");
    EXPECT_TRUE(list_files(dir / (folder + "/journal")).empty()) << with << "everything delivered\n" << r.err;
  }
  EXPECT_TRUE(list_files("/" + folder).empty()) << "the relative folder was resolved after the test moved to /";
}

// A program started with signals ignored (nohup's SIGHUP, a pipeline writer's SIGPIPE) re-runs its failed
// tests with them still ignored, as a shell would start them.
TEST_F(Errors, ReRunsKeepTheSignalsTheProgramWasStartedWithIgnored) {
  auto vars = server.env();
  vars.emplace_back("SIGNALS_OUT", dir / "signals");
  RunSpec spec = reporting_run(
      dir, {"sh", "-c", "trap '' HUP PIPE; exec \"$0\" --gtest_filter=Signals.*", errors_fixture}, bstest, 5000, vars);
  RunResult r = run(spec);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string want = "HUP=ignored\nINT=not ignored\nPIPE=ignored\nTERM=not ignored\n";
  EXPECT_EQ(read_file(dir / "signals.1"), want) << "the program";
  EXPECT_EQ(read_file(dir / "signals.2"), want) << "its re-run";
}

TEST_F(Errors, SameFlakyTestGroupsIntoOneIssueAcrossRuns) {
  run_fixture(fixture_main, {"--gtest_filter=Flaky.PassesOnSecondAttempt"});
  run_fixture(fixture_main, {"--gtest_filter=Flaky.PassesOnSecondAttempt"});
  ASSERT_TRUE(server.wait_for_envelopes(2, 5000));
  auto envs = server.envelopes();
  ASSERT_EQ(envs.size(), 2u);
  Json a(envs[0].event), b(envs[1].event);
  EXPECT_NE(a.str("event_id"), b.str("event_id"));
  EXPECT_NE(a.str("extra.run_id"), b.str("extra.run_id"));
  ASSERT_EQ(a.size("fingerprint"), 5u);
  ASSERT_EQ(b.size("fingerprint"), 5u);
  EXPECT_EQ(a.str("fingerprint.4"), "Flaky.PassesOnSecondAttempt");
  for (int i = 0; i < 5; ++i) {
    std::string k = "fingerprint." + std::to_string(i);
    EXPECT_EQ(a.str(k), b.str(k));
  }
}

TEST_F(Errors, WithOnlyTheListenerAFailureIsFinalAndSaysReRunsWereNotPossible) {
  RunResult r = run_fixture(fixture, {"--gtest_filter=Flaky.PassesOnSecondAttempt:Flaky.AlwaysThrows"});
  EXPECT_EQ(r.exit_code, 1);
  auto fin = with_event(parse_all(server.records()), "test_finished");
  ASSERT_EQ(fin.size(), 2u) << "no re-runs";
  for (auto& f : fin) EXPECT_NE(f.str("test.rerun").find("not possible"), std::string::npos);
  EXPECT_EQ(envelopes_after(1).size(), 1u);
  auto ev = events();
  EXPECT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev["Flaky.AlwaysThrows"][0].str("exception.values.0.type"), "fixture::DatabaseError");
  EXPECT_EQ(ev["Flaky.AlwaysThrows"][0].str("exception.values.0.value"), "connection to db-7 refused");
}

TEST_F(Errors, CrashesAreFatalEventsWithTheSignal) {
  struct Case {
    const char* how;
    int signo;  // 0: exit()
  };
  for (Case c : {Case{"abort", SIGABRT}, Case{"segv", SIGSEGV}, Case{"exit", 0}}) {
    SCOPED_TRACE(c.how);
    server.reset_received();
    RunResult r = run_fixture(fixture_main, {"--gtest_filter=Basic.Passes:Crash.Now"}, {{"FIXTURE_CRASH", c.how}});
    if (c.signo == SIGSEGV) {
      EXPECT_TRUE(ended_by_segv(r)) << r.err;
    } else if (c.signo == SIGABRT) {
      EXPECT_EQ(r.signal, SIGABRT);
    } else {
      EXPECT_EQ(r.exit_code, 3) << "exit(3) inside a test keeps its code";
    }
    auto envs = envelopes_after(1);
    ASSERT_EQ(envs.size(), 1u) << r.err;
    Json ev(envs[0].event);
    EXPECT_EQ(ev.str("transaction"), "Crash.Now");
    EXPECT_EQ(ev.str("level"), "fatal");
    EXPECT_EQ(ev.str("fingerprint.1"), "crash");
    EXPECT_EQ(ev.str("fingerprint.4"), "Crash.Now");
    if (c.signo != 0) {
      std::string name = c.signo == SIGSEGV ? "SIGSEGV" : "SIGABRT";
      EXPECT_EQ(ev.str("exception.values.0.type"), name);
      EXPECT_EQ(ev.num("exception.values.0.mechanism.meta.signal.number"), c.signo);
      EXPECT_EQ(ev.str("exception.values.0.mechanism.type"), "signalhandler");
      EXPECT_EQ(ev.str("tags.signal"), name);
      EXPECT_EQ(ev.str("exception.values.0.value"), "Crash.Now crashed with " + name);
    } else {
      EXPECT_EQ(ev.str("exception.values.0.value"), "Crash.Now called exit() during the test");
    }
    // The context is the test program's, as its run_started record carries it.
    auto started = with_event(parse_all(server.records()), "run_started");
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(ev.str("contexts.os.name"), started[0].str("context.os.name"));
    EXPECT_EQ(ev.str("contexts.runtime.raw_description"), started[0].str("context.runtime.raw_description"));
    EXPECT_EQ(ev.str("environment"), "local");
  }
}

// The provided main owns the exit code: a test that calls exit(0) ended the run early, which is no pass.
TEST_F(Errors, ExitZeroInsideATestDoesNotPassTheRun) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=Exits.*"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto envs = envelopes_after(1);
  ASSERT_EQ(envs.size(), 1u);
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_EQ(ev.str("exception.values.0.value"), "Exits.WithZeroInsideTheTest called exit() during the test");
}

// The exception's own type and what(), wherever it was thrown, whatever failed before it.
TEST_F(Errors, ExceptionEventsCarryTheTypeWhatAndThrowSite) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=Exception.AfterAFailedAssertion:Exception.FromTheStandardLibrary"},
                            {{"BSTEST_RETRIES", "1"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(envelopes_after(2).size(), 2u);
  auto ev = events();
  ASSERT_EQ(ev["Exception.AfterAFailedAssertion"].size(), 1u) << "an assertion failed first: still an exception event";
  const Json& a = ev["Exception.AfterAFailedAssertion"][0];
  EXPECT_EQ(a.str("level"), "error");
  EXPECT_EQ(a.str("exception.values.0.type"), "std::invalid_argument");
  EXPECT_EQ(a.str("exception.values.0.value"), "bad input 7");
  EXPECT_EQ(a.str("fingerprint.1"), "exception");
  // Where it was thrown, named by bstest: the innermost frame is the test body's throw (in the program), and
  // no placeholder frame stands for the test.
  std::size_t n = a.size("exception.values.0.stacktrace.frames");
  ASSERT_GE(n, 3u);
  std::string at = "exception.values.0.stacktrace.frames." + std::to_string(n - 1) + ".";
  EXPECT_EQ(a.str(at + "function"), "Exception_AfterAFailedAssertion_Test::TestBody()");
  EXPECT_EQ(a.str(at + "filename").substr(a.str(at + "filename").rfind('/') + 1), "errors_fixture.cpp");
  EXPECT_GT(a.num(at + "lineno"), 0);
  EXPECT_EQ(a.str(at + "package"), errors_fixture);
  EXPECT_EQ(a.str(at + "instruction_addr").rfind("0x", 0), 0u);
  EXPECT_TRUE(a.boolean(at + "in_app"));
  EXPECT_FALSE(a.boolean("exception.values.0.stacktrace.frames.0.in_app")) << "the outermost: the C runtime's start";

  ASSERT_EQ(ev["Exception.FromTheStandardLibrary"].size(), 1u);
  const Json& b = ev["Exception.FromTheStandardLibrary"][0];
  EXPECT_EQ(b.str("exception.values.0.type"), "std::out_of_range");
  EXPECT_FALSE(b.str("exception.values.0.value").empty());
  EXPECT_EQ(b.str("exception.values.0.value").find("C++ exception"), std::string::npos);
  n = b.size("exception.values.0.stacktrace.frames");
  ASSERT_GE(n, 3u);
  at = "exception.values.0.stacktrace.frames." + std::to_string(n - 1) + ".";
  EXPECT_NE(b.str(at + "package"), errors_fixture) << "thrown inside the C++ library";
  EXPECT_FALSE(b.boolean(at + "in_app"));
  // Its caller in the program is the test's own code.
  bool body = false;
  for (std::size_t i = 0; i < n; ++i) {
    std::string f = "exception.values.0.stacktrace.frames." + std::to_string(i) + ".";
    if (b.str(f + "function") != "Exception_FromTheStandardLibrary_Test::TestBody()") continue;
    body = true;
    EXPECT_TRUE(b.boolean(f + "in_app"));
  }
  EXPECT_TRUE(body);
}

// std::terminate (an exception nobody caught, here on a worker thread): a crash named by the exception.
TEST_F(Errors, AnUncaughtExceptionIsACrashNamedByItsType) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=Exception.UncaughtOnAWorkerThread"});
  EXPECT_EQ(r.signal, SIGABRT) << r.err;
  auto envs = envelopes_after(1);
  ASSERT_EQ(envs.size(), 1u);
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_EQ(ev.str("exception.values.0.type"), "std::logic_error");
  EXPECT_EQ(ev.str("exception.values.0.value"),
            "Exception.UncaughtOnAWorkerThread: uncaught std::logic_error: worker gave up (SIGABRT)");
  EXPECT_EQ(ev.num("exception.values.0.mechanism.meta.signal.number"), SIGABRT);
  EXPECT_EQ(ev.str("fingerprint.1"), "crash");
}

// A re-run that hangs is stopped after BSTEST_RERUN_TIMEOUT_MS and counts as a crashed attempt.
TEST_F(Errors, AHangingReRunIsStoppedAndReportedOnce) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=Hang.*"}, {{"BSTEST_RERUN_TIMEOUT_MS", "1000"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(r.seconds, 20) << "two attempts of 1 s, then SIGTERM";
  auto failed = with_event(parse_all(server.records()), "test_failed");
  ASSERT_EQ(failed.size(), 1u);
  ASSERT_EQ(failed[0].size("test.attempts"), 3u);
  for (int a : {1, 2}) {
    std::string at = "test.attempts." + std::to_string(a) + ".";
    EXPECT_EQ(failed[0].str(at + "result"), "timed_out");
    EXPECT_EQ(failed[0].str(at + "signal"), "SIGTERM");
  }
  auto envs = envelopes_after(1);
  ASSERT_EQ(envs.size(), 1u) << "one crash event for the test, none from the re-runs themselves";
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_EQ(ev.str("exception.values.0.value"),
            "Hang.AfterTheFirstAttempt did not end within the re-run time limit (BSTEST_RERUN_TIMEOUT_MS) (attempt 2) "
            "and was stopped with SIGTERM");
  EXPECT_EQ(ev.num("exception.values.0.mechanism.meta.signal.number"), SIGTERM);
}

TEST_F(Errors, CrashingReRunsMakeOneCrashEvent) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=CrashRerun.*"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto failed = with_event(parse_all(server.records()), "test_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].str("test.attempts.1.result"), "crashed");
  EXPECT_EQ(failed[0].str("test.attempts.2.result"), "crashed");
  EXPECT_EQ(failed[0].str("test.attempts.2.signal"), "SIGABRT");
  auto envs = envelopes_after(1);
  ASSERT_EQ(envs.size(), 1u) << "two attempts aborted: one crash event";
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("exception.values.0.type"), "SIGABRT");
  EXPECT_EQ(ev.str("exception.values.0.value"), "CrashRerun.AbortsOnLaterAttempts crashed with SIGABRT (attempt 2)");
  EXPECT_EQ(ev.str("fingerprint.4"), "CrashRerun.AbortsOnLaterAttempts");
}

// GoogleTest's filter has no escapes: ':' and '-' in a name must not split or negate the re-run's filter.
TEST_F(Errors, NamesWithFilterCharactersAreReRunAlone) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=Odd.*"});
  EXPECT_EQ(r.exit_code, 0) << "both failed once, then passed\n" << r.err;
  std::multiset<std::string> flaky;
  for (auto& f : with_event(parse_all(server.records()), "test_flaky")) flaky.insert(f.str("test.full_name"));
  EXPECT_EQ(flaky, (std::multiset<std::string>{"Odd.has-dash", "Odd.has:colon"}));
}

// --gtest_repeat: a test that passed in one iteration and failed in another is flaky, once; counts are per test.
TEST_F(Errors, RepeatedRunsCountTestsOnceAndReportEachFlakeOnce) {
  RunResult r = run_fixture(errors_fixture, {"--gtest_filter=Repeat.*", "--gtest_repeat=3"});
  EXPECT_EQ(r.exit_code, 0) << "every failure was flaky\n" << r.err;
  auto records = parse_all(server.records());
  std::map<std::string, int> flaky;
  for (auto& f : with_event(records, "test_flaky")) {
    ++flaky[f.str("test.full_name")];
    EXPECT_TRUE(f.has("test.repeat.failed_iteration"));
  }
  EXPECT_EQ(flaky, (std::map<std::string, int>{{"Repeat.FailsInTheFirstIterationOnly", 1},
                                                {"Repeat.PassesInTheFirstIterationOnly", 1}}));
  EXPECT_TRUE(with_event(records, "test_failed").empty());
  for (auto& t : with_event(records, "test_finished")) EXPECT_EQ(t.num("run.attempt"), 1) << "no re-run was needed";
  auto end = with_event(records, "run_finished");
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].num("summary.total"), 3);
  EXPECT_EQ(end[0].num("summary.passed"), 3);
  EXPECT_EQ(end[0].num("summary.failed"), 0);
  EXPECT_EQ(end[0].num("summary.flaky"), 2);
  EXPECT_EQ(envelopes_after(2).size(), 2u) << "one flaky event per test, not one per iteration";
  auto ev = events();
  EXPECT_EQ(ev["Repeat.FailsInTheFirstIterationOnly"][0].str("exception.values.0.value").rfind(
                "Repeat.FailsInTheFirstIterationOnly failed in iteration 0 and passed in iteration 1", 0),
            0u);
}

// `bstest run` re-runs a test with the environment the program had (here given by `env`), secrets included,
// though the journal names secrets without their values.
TEST_F(Errors, BstestRunReRunsWithTheProgramsEnvironment) {
  const std::string token = "tok-5f4e3d2c1b0a";
  RunResult r = bstest_run({"env", "ERRORS_NEEDED=yes", "ERRORS_API_TOKEN=" + token, errors_fixture,
                            "--gtest_filter=Env.*"},
                           {{"ERRORS_API_TOKEN", token}});
  EXPECT_EQ(r.exit_code, 0) << "flaky, not broken: the re-run had ERRORS_NEEDED\n" << r.err;
  auto flaky = with_event(parse_all(server.records()), "test_flaky");
  ASSERT_EQ(flaky.size(), 1u) << r.err;
  EXPECT_EQ(flaky[0].str("test.full_name"), "Env.NeededOnEveryAttempt");

  // What the journal holds (nothing sent, so it stays).
  TempDir local;
  RunSpec spec;
  spec.argv = {errors_fixture, "--gtest_filter=Env.*"};
  spec.env = {{"BSTEST_DIR", local / "bs"}, {"BSTEST_RETRIES", "0"}, {"ERRORS_NEEDED", "yes"}, {"ERRORS_API_TOKEN", token}};
  spec.cwd = local.path();
  run(spec);
  bool found = false;
  for (const auto& line : journal_lines(local / "bs")) {
    EXPECT_EQ(line.find(token), std::string::npos) << "a secret's value is never written";
    if (line.rfind("{\"local\":\"process\"", 0) != 0) continue;
    found = true;
    Json p(line);
    std::set<std::string> env, inherited;
    for (std::size_t i = 0; i < p.size("env"); ++i) env.insert(p.str("env." + std::to_string(i)));
    for (std::size_t i = 0; i < p.size("env_inherited"); ++i) inherited.insert(p.str("env_inherited." + std::to_string(i)));
    EXPECT_EQ(env.count("ERRORS_NEEDED=yes"), 1u);
    EXPECT_EQ(inherited.count("ERRORS_API_TOKEN"), 1u);
  }
  EXPECT_TRUE(found);
}

// Under `bstest run` the wrapper re-runs and decides: one exception event, with the type and what().
TEST_F(Errors, BstestRunReportsAnExceptionOnceWithItsTypeAndWhat) {
  RunResult r = bstest_run({"env", "FIXTURE_FLAKY=1", fixture, "--gtest_filter=Flaky.AlwaysThrows"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto failed = with_event(parse_all(server.records()), "test_failed");
  ASSERT_EQ(failed.size(), 1u) << r.err;
  EXPECT_EQ(failed[0].size("test.attempts"), 3u);
  auto envs = envelopes_after(1);
  ASSERT_EQ(envs.size(), 1u) << "none from the program itself, none per attempt";
  Json ev(envs[0].event);
  EXPECT_EQ(ev.str("level"), "error");
  EXPECT_EQ(ev.str("exception.values.0.type"), "fixture::DatabaseError");
  EXPECT_EQ(ev.str("exception.values.0.value"), "connection to db-7 refused");
  EXPECT_EQ(ev.str("fingerprint.3"), "gtest_fixture");
}

// An assertion failed before the exception: under `bstest run` too, the exception is the test's event,
// whether the test is re-run (a verdict) or not (a final failure).
TEST_F(Errors, UnderBstestRunAnExceptionAfterAFailedAssertionIsAnExceptionEvent) {
  for (const char* retries : {"1", "0"}) {
    SCOPED_TRACE(std::string("BSTEST_RETRIES=") + retries);
    server.reset_received();
    RunResult r = bstest_run({errors_fixture, "--gtest_filter=Exception.AfterAFailedAssertion"}, {{"BSTEST_RETRIES", retries}});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    auto envs = envelopes_after(1);
    ASSERT_EQ(envs.size(), 1u) << r.err;
    Json ev(envs[0].event);
    EXPECT_EQ(ev.str("transaction"), "Exception.AfterAFailedAssertion");
    EXPECT_EQ(ev.str("level"), "error");
    EXPECT_EQ(ev.str("exception.values.0.type"), "std::invalid_argument");
    EXPECT_EQ(ev.str("exception.values.0.value"), "bad input 7");
    EXPECT_EQ(ev.str("fingerprint.1"), "exception");
  }
}

// Sentry rate limits: honoured, to the end, by this shipper and the next one.
TEST_F(Errors, RateLimitedEventsWaitForTheLimitAndArrive) {
  Fault limited;
  limited.status = 429;
  limited.rate_limits = "2:error:key";
  server.inject(Channel::errors, limited, 1);
  std::atomic<bool> done{false};
  std::chrono::steady_clock::time_point first{}, second{};
  std::thread watch([&] {
    while (!done.load()) {
      std::size_t n = server.requests(Channel::errors);
      auto now = std::chrono::steady_clock::now();
      if (n >= 1 && first == std::chrono::steady_clock::time_point{}) first = now;
      if (n >= 2 && second == std::chrono::steady_clock::time_point{}) second = now;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  RunResult r = run_fixture(fixture, {"--gtest_filter=Flaky.AlwaysThrows"});
  bool arrived = server.wait_for_envelopes(1, 8000);
  done = true;
  watch.join();
  ASSERT_TRUE(arrived) << r.err;
  EXPECT_EQ(server.requests(Channel::errors), 2u) << "sent again once the limit expired, not before";
  double waited = std::chrono::duration<double>(second - first).count();
  EXPECT_GE(waited, 1.9) << "the 2 s limit was honoured";
  EXPECT_LT(waited, 4.0);
}

TEST_F(Errors, ARateLimitHoldsForTheNextShipperToo) {
  Fault limited;
  limited.status = 429;
  limited.rate_limits = "6:error:key";  // long enough for a slow (sanitized) run and the first flush
  server.inject(Channel::errors, limited, 1);
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = run_fixture(fixture, {"--gtest_filter=Flaky.AlwaysThrows"}, {{"BSTEST_FLUSH_TIMEOUT_MS", "1000"}});
  EXPECT_EQ(server.requests(Channel::errors), 1u) << r.err;
  // `bstest flush` within the limit sends nothing: the limit is kept on disk, not only in memory.
  RunResult early = flush();
  EXPECT_EQ(server.requests(Channel::errors), 1u) << early.err;
  EXPECT_NE(early.exit_code, 0) << "the event is still waiting";
  ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6)) << "too slow to test the limit";
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(6300));
  RunResult later = flush();
  EXPECT_EQ(later.exit_code, 0) << later.err;
  EXPECT_EQ(server.envelopes().size(), 1u);
}

TEST_F(Errors, LongRateLimitsAreNotCutShortAndAreReadOnEveryAnswer) {
  // An HTTP error is final for its event, but the limit it announces holds back the next one.
  Fault refused;
  refused.status = 400;
  refused.rate_limits = "2700:error:key";
  server.inject(Channel::errors, refused, 1);
  RunResult r = run_fixture(fixture_main, {"--gtest_filter=Flaky.PassesOnSecondAttempt:Flaky.ThrowsOnFirstAttempt"},
                            {{"BSTEST_FLUSH_TIMEOUT_MS", "1500"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(server.requests(Channel::errors), 1u) << "the second event waits for the 45-minute limit";
  RunResult f = flush();
  EXPECT_EQ(server.requests(Channel::errors), 1u) << "still limited for `bstest flush`: " << f.err;
  EXPECT_TRUE(server.envelopes().empty());
}

}  // namespace
