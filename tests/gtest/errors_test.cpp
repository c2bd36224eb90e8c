// Flaky tests, uncaught exceptions and crashes as Better Stack Errors events (Sentry envelopes), with
// GoogleTest binaries: re-runs by the provided main, verdicts, exit codes, event fields and grouping.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

using namespace bstest::testing;

namespace {

class Errors : public ::testing::Test {
 protected:
  std::string fixture = build_path("BSTEST_TEST_GTEST_FIXTURE");
  std::string fixture_main = build_path("BSTEST_TEST_GTEST_FIXTURE_MAIN");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult run_fixture(const std::string& binary, std::vector<std::string> args,
                        std::vector<std::pair<std::string, std::string>> env = {}) {
    RunSpec spec;
    spec.argv = {binary};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = server.env();
    for (auto& e : env) spec.env.push_back(e);
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "5000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.env.emplace_back("FIXTURE_FLAKY", "1");
    spec.cwd = dir.path();
    return run(spec);
  }

  // Events by their "transaction" (the test's full name).
  std::map<std::string, std::vector<Json>> events() {
    std::map<std::string, std::vector<Json>> m;
    for (const auto& e : server.envelopes()) {
      Json ev(e.event);
      m[ev.str("transaction")].push_back(ev);
    }
    return m;
  }
};

TEST_F(Errors, FlakyTestsAreReRunAndReportedOnceAsWarnings) {
  RunResult r = run_fixture(fixture_main, {"--gtest_filter=Flaky.*"});
  EXPECT_EQ(r.exit_code, 1) << "a test that failed every attempt fails the run\n" << r.err;
  auto records = parse_all(server.records());
  auto flaky = with_event(records, "test_flaky");
  std::set<std::string> flaky_names;
  for (auto& f : flaky) {
    flaky_names.insert(f.str("test.full_name"));
    EXPECT_EQ(f.str("level"), "warn");
    EXPECT_EQ(f.str("test.result"), "flaky");
    EXPECT_EQ(f.str("test.attempts.0.result"), "failed");
    EXPECT_EQ(f.str("test.attempts.1.result"), "passed");
  }
  EXPECT_EQ(flaky_names, (std::set<std::string>{"Flaky.PassesOnSecondAttempt", "Flaky.ThrowsOnFirstAttempt"}));
  auto failed = with_event(records, "test_failed");
  std::set<std::string> failed_names;
  for (auto& f : failed) failed_names.insert(f.str("test.full_name"));
  EXPECT_EQ(failed_names, (std::set<std::string>{"Flaky.AlwaysFails", "Flaky.AlwaysThrows"}));
  EXPECT_EQ(failed[0].size("test.attempts"), 3u) << "BSTEST_RETRIES defaults to 2: three attempts";

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
  ASSERT_TRUE(server.wait_for_envelopes(3, 5000));
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
  EXPECT_EQ(f.size("exception.values.0.stacktrace.frames"), 2u) << "the test's definition and the failing assertion";
  EXPECT_EQ(f.str("exception.values.0.stacktrace.frames.0.function"), "Flaky.PassesOnSecondAttempt");
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
  EXPECT_NE(ex.str("exception.values.0.value").find("connection to db-7 refused"), std::string::npos);
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
  RunResult no_reruns = run_fixture(fixture_main, filter, {{"BSTEST_RETRIES", "0"}});
  EXPECT_EQ(no_reruns.exit_code, 1) << "without re-runs a failure is a failure";
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
  ASSERT_TRUE(server.wait_for_envelopes(1, 5000));
  auto ev = events();
  EXPECT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev["Flaky.AlwaysThrows"][0].str("exception.values.0.type"), "fixture::DatabaseError");
}

TEST_F(Errors, CrashesAreFatalEventsWithTheSignal) {
  RunResult r = run_fixture(fixture_main, {"--gtest_filter=Basic.Passes:Crash.Now"}, {{"FIXTURE_CRASH", "abort"}});
  EXPECT_EQ(r.signal, SIGABRT);
  ASSERT_TRUE(server.wait_for_envelopes(1, 8000)) << r.err;
  auto ev = events();
  ASSERT_EQ(ev["Crash.Now"].size(), 1u);
  const Json& c = ev["Crash.Now"][0];
  EXPECT_EQ(c.str("level"), "fatal");
  EXPECT_EQ(c.str("exception.values.0.type"), "SIGABRT");
  EXPECT_EQ(c.num("exception.values.0.mechanism.meta.signal.number"), SIGABRT);
  EXPECT_EQ(c.str("fingerprint.1"), "crash");
  EXPECT_EQ(c.str("tags.signal"), "SIGABRT");
}

TEST_F(Errors, RateLimitedEventsWaitAndArrive) {
  Fault limited;
  limited.status = 429;
  limited.rate_limits = "1:error:key";
  server.inject(Channel::errors, limited, 1);
  RunResult r = run_fixture(fixture, {"--gtest_filter=Flaky.AlwaysThrows"});
  ASSERT_TRUE(server.wait_for_envelopes(1, 8000)) << r.err;
  EXPECT_EQ(server.requests(Channel::errors), 2u) << "sent again once the limit expired, not before";
}

}  // namespace
