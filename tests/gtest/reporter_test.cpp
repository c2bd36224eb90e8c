// The GoogleTest reporter, end to end: real GoogleTest binaries (tests/gtest/fixture_suite.cpp) run
// against the local Better Stack server; the records are compared with GoogleTest's own JSON report and
// with what each case must produce.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

using namespace bstest::testing;

namespace {

class GtestReporter : public ::testing::Test {
 protected:
  std::string fixture = build_path("BSTEST_TEST_GTEST_FIXTURE");            // own main + install()
  std::string fixture_main = build_path("BSTEST_TEST_GTEST_FIXTURE_MAIN");  // linked with bstest-gtest-main
  std::string fixture_auto = build_path("BSTEST_TEST_GTEST_FIXTURE_AUTO");  // gtest_main + bstest-gtest-auto
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult run_fixture(const std::string& binary, std::vector<std::string> args,
                        std::vector<std::pair<std::string, std::string>> env = {}, bool with_server = true) {
    RunSpec spec;
    spec.argv = {binary};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    if (with_server) spec.env = server.env();
    for (auto& e : env) spec.env.push_back(e);
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "4000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<Json> records() { return parse_all(server.records()); }

  // test_finished records by full name.
  std::map<std::string, std::vector<Json>> finished() {
    std::map<std::string, std::vector<Json>> m;
    for (auto& r : with_event(records(), "test_finished")) m[r.str("test.full_name")].push_back(r);
    return m;
  }
};

void expect_unique_ids(const std::vector<Json>& records) {
  std::set<std::string> ids;
  for (const auto& r : records) EXPECT_TRUE(ids.insert(r.str("id")).second) << "duplicate " << r.str("id");
}

// ------------------------------------------------------------------------------------------------------
// The oracle: GoogleTest's own JSON report of the same run.

TEST_F(GtestReporter, RecordsMatchGoogleTestsOwnJsonReportTestForTest) {
  std::string json_path = dir / "gtest.json";
  RunResult r = run_fixture(fixture, {"--gtest_output=json:" + json_path});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  Json report(read_file(json_path));
  ASSERT_TRUE(report.ok());
  auto ours = finished();
  std::size_t compared = 0;
  const auto& suites = report.doc()["testsuites"];
  for (const auto& suite : suites.GetArray()) {
    std::string suite_name = suite["name"].GetString();
    for (const auto& t : suite["testsuite"].GetArray()) {
      std::string name = t["name"].GetString();
      std::string full = suite_name + "." + name;
      std::string status = t["status"].GetString();
      std::string result = t.HasMember("result") ? t["result"].GetString() : "";
      std::size_t failures = t.HasMember("failures") ? t["failures"].Size() : 0;
      std::string expected = status == "NOTRUN"          ? "disabled"
                             : failures > 0              ? "failed"
                             : result == "SKIPPED"       ? "skipped"
                                                         : "passed";
      if (status == "NOTRUN" && suite_name.rfind("DISABLED_", 0) != 0 && name.rfind("DISABLED_", 0) != 0) continue;
      ASSERT_EQ(ours.count(full), 1u) << "no single test_finished record for " << full;
      const Json& rec = ours[full][0];
      EXPECT_EQ(rec.str("test.result"), expected) << full;
      EXPECT_EQ(rec.str("test.suite"), suite_name);
      EXPECT_EQ(rec.str("test.name"), name);
      if (t.HasMember("value_param")) {
        EXPECT_EQ(rec.str("test.value_param"), t["value_param"].GetString()) << full;
      }
      if (t.HasMember("type_param")) {
        EXPECT_EQ(rec.str("test.type_param"), t["type_param"].GetString()) << full;
      }
      if (status != "NOTRUN") {
        EXPECT_EQ(rec.str("test.file"), t["file"].GetString()) << full;
        EXPECT_EQ(rec.num("test.line"), t["line"].GetInt()) << full;
      }
      ASSERT_EQ(rec.size("test.failures"), failures) << full;
      for (std::size_t i = 0; i < failures; ++i) {
        // GoogleTest writes "file:line\nmessage" (or "unknown file\nmessage").
        std::string text = t["failures"][static_cast<rapidjson::SizeType>(i)]["failure"].GetString();
        std::string base = "test.failures." + std::to_string(i);
        std::string where = rec.has(base + ".file")
                                ? rec.str(base + ".file") + ":" + std::to_string(rec.num(base + ".line"))
                                : "unknown file";
        EXPECT_EQ(where + "\n" + rec.str(base + ".message"), text) << full;
      }
      ++compared;
    }
  }
  EXPECT_GE(compared, 20u);
  // And nothing GoogleTest did not report: every record's test is in the oracle or a disabled suite.
  EXPECT_EQ(ours.size(), compared);
}

// ------------------------------------------------------------------------------------------------------
// Case by case

TEST_F(GtestReporter, EveryRunningTestHasStartedAndFinishedWithItsDetails) {
  RunResult r = run_fixture(fixture, {});
  EXPECT_EQ(r.exit_code, 1);
  auto all = records();
  expect_unique_ids(all);
  auto started = with_event(all, "test_started");
  auto fin = finished();
  std::set<std::string> started_names;
  for (auto& s : started) started_names.insert(s.str("test.full_name"));
  for (auto& [name, recs] : fin) {
    ASSERT_EQ(recs.size(), 1u) << name;
    if (recs[0].str("test.result") != "disabled") {
      EXPECT_EQ(started_names.count(name), 1u) << "test_started missing for " << name;
    }
  }
  EXPECT_EQ(all.front().str("event"), "run_started");
  EXPECT_EQ(all.front().str("run.framework"), "googletest");
  EXPECT_EQ(all.front().str("run.framework_version"), "1.12.1");
  EXPECT_EQ(all.back().str("event"), "run_finished");

  const Json& msg = fin["Basic.FailsWithMessage"][0];
  EXPECT_EQ(msg.str("test.failures.0.message"), "Expected equality of these values:\n  a\n    Which is: 1\n  b\n    Which is: 2\nvalues differ");
  EXPECT_GT(msg.num("test.failures.0.line"), 0);

  const Json& trace = fin["Basic.TwoFailuresAndATrace"][0];
  ASSERT_EQ(trace.size("test.failures"), 2u) << "the failure after ASSERT never happens";
  EXPECT_NE(trace.str("test.failures.0.message").find("Google Test trace:"), std::string::npos);
  EXPECT_NE(trace.str("test.failures.0.message").find("checking the second half"), std::string::npos);
  EXPECT_FALSE(trace.boolean("test.failures.0.fatal"));
  EXPECT_TRUE(trace.boolean("test.failures.1.fatal"));

  const Json& props = fin["Basic.RecordsProperties"][0];
  EXPECT_EQ(props.str("test.properties.ticket"), "BUG-42");
  EXPECT_EQ(props.str("test.properties.size"), "7");

  const Json& skip = fin["Basic.SkipsWithReason"][0];
  EXPECT_EQ(skip.str("test.result"), "skipped");
  EXPECT_EQ(skip.str("test.skip_reason"), "needs a GPU");

  const Json& ex = fin["Basic.ThrowsStdException"][0];
  EXPECT_EQ(ex.str("test.result"), "failed");
  EXPECT_FALSE(ex.has("test.failures.0.file")) << "GoogleTest does not know where it was thrown";
  EXPECT_EQ(ex.str("test.failures.0.kind"), "exception");
  EXPECT_NE(ex.str("test.failures.0.message").find("disk full"), std::string::npos);
  EXPECT_NE(fin["Basic.ThrowsSomethingElse"][0].str("test.failures.0.message").find("Unknown C++ exception"),
            std::string::npos);

  EXPECT_EQ(fin["Typed/0.DefaultIsZero"][0].str("test.type_param"), "int");
  EXPECT_EQ(fin["Typed/1.DefaultIsZero"][0].str("test.type_param"), "double");
  EXPECT_EQ(fin["Values/Param.IsSmall/2"][0].str("test.value_param"), "5");
  EXPECT_EQ(fin["Values/Param.IsSmall/2"][0].str("test.result"), "failed");
}

TEST_F(GtestReporter, FailuresFromAnotherThreadGoToTheRightTest) {
  run_fixture(fixture, {"--gtest_filter=Threads.*"});
  auto fin = finished();
  ASSERT_EQ(fin["Threads.FailsOnAnotherThread"][0].size("test.failures"), 1u);
  EXPECT_EQ(fin["Threads.FailsOnAnotherThread"][0].str("test.failures.0.message"), "Failed\nfrom a worker thread");
  EXPECT_EQ(fin["Threads.NextTestIsClean"][0].str("test.result"), "passed");
  EXPECT_EQ(fin["Threads.NextTestIsClean"][0].size("test.failures"), 0u);
}

TEST_F(GtestReporter, SuiteSetUpAndTearDownFailuresAreRecordsOfTheirOwnAndFailTheRun) {
  RunResult r = run_fixture(fixture, {"--gtest_filter=SetUpFails.*:TearDownFails.*"});
  EXPECT_EQ(r.exit_code, 1);
  auto all = records();
  auto fixture_failed = with_event(all, "fixture_failed");
  ASSERT_EQ(fixture_failed.size(), 2u);
  EXPECT_EQ(fixture_failed[0].str("fixture.phase"), "suite_setup");
  EXPECT_EQ(fixture_failed[0].str("fixture.suite"), "SetUpFails");
  EXPECT_EQ(fixture_failed[0].str("failure.message"), "Failed\nsuite resource unavailable");
  EXPECT_EQ(fixture_failed[1].str("fixture.phase"), "suite_teardown");
  EXPECT_EQ(fixture_failed[1].str("fixture.suite"), "TearDownFails");
  auto fin = finished();
  for (const char* t : {"SetUpFails.First", "SetUpFails.Second"}) {
    EXPECT_EQ(fin[t][0].str("test.result"), "skipped") << t;
    EXPECT_EQ(fin[t][0].str("test.skip_reason"), "not run: SetUpTestSuite of SetUpFails failed") << t;
  }
  EXPECT_EQ(fin["TearDownFails.Only"][0].str("test.result"), "passed");
  auto end = with_event(all, "run_finished")[0];
  EXPECT_EQ(end.num("summary.failed"), 0) << "no test failed";
  EXPECT_EQ(end.num("summary.fixture_failures"), 2);
  EXPECT_EQ(end.str("summary.result"), "failed") << "but the run did";
}

TEST_F(GtestReporter, GlobalEnvironmentFailuresAndSkips) {
  RunResult soft = run_fixture(fixture, {"--gtest_filter=Basic.Passes"}, {{"FIXTURE_ENV", "nonfatal"}});
  EXPECT_EQ(soft.exit_code, 1);
  auto f = with_event(records(), "fixture_failed");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].str("fixture.phase"), "global_setup");
  EXPECT_EQ(finished()["Basic.Passes"][0].str("test.result"), "passed");

  server.reset_received();
  run_fixture(fixture, {"--gtest_filter=Basic.Passes:Zz.*"}, {{"FIXTURE_ENV", "fatal"}});
  auto fin = finished();
  EXPECT_EQ(fin["Basic.Passes"][0].str("test.result"), "skipped");
  EXPECT_EQ(fin["Basic.Passes"][0].str("test.skip_reason"), "not run: a global Environment::SetUp failed");

  server.reset_received();
  RunResult skipped = run_fixture(fixture, {"--gtest_filter=Basic.Passes:Zz.*"}, {{"FIXTURE_ENV", "skip"}});
  EXPECT_EQ(skipped.exit_code, 0);
  fin = finished();
  ASSERT_EQ(fin.size(), 2u) << "GoogleTest says nothing about these tests; bstest records them as skipped";
  EXPECT_EQ(fin["Zz.LastTest"][0].str("test.result"), "skipped");
  EXPECT_NE(fin["Zz.LastTest"][0].str("test.skip_reason").find("no database in this environment"), std::string::npos);

  server.reset_received();
  run_fixture(fixture, {"--gtest_filter=Basic.Passes"}, {{"FIXTURE_ENV", "teardown"}});
  f = with_event(records(), "fixture_failed");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].str("fixture.phase"), "global_teardown");
}

TEST_F(GtestReporter, FailFastSkipsAreNamed) {
  run_fixture(fixture, {"--gtest_fail_fast", "--gtest_filter=Basic.FailsWithMessage:Zz.LastTest"});
  auto fin = finished();
  EXPECT_EQ(fin["Basic.FailsWithMessage"][0].str("test.result"), "failed");
  EXPECT_EQ(fin["Zz.LastTest"][0].str("test.result"), "skipped");
  EXPECT_EQ(fin["Zz.LastTest"][0].str("test.skip_reason"), "not run: --gtest_fail_fast after an earlier failure");
}

TEST_F(GtestReporter, DisabledTestsAreReportedOnceEvenWhenShardedOrTheWholeSuiteIsDisabled) {
  std::map<std::string, int> disabled;
  for (int shard = 0; shard < 3; ++shard) {
    server.reset_received();
    run_fixture(fixture, {}, {{"GTEST_TOTAL_SHARDS", "3"}, {"GTEST_SHARD_INDEX", std::to_string(shard)}});
    for (auto& r : records()) {
      EXPECT_EQ(r.num("run.shard_index"), shard);
      EXPECT_EQ(r.num("run.shard_total"), 3);
      if (r.str("event") == "test_finished" && r.str("test.result") == "disabled") ++disabled[r.str("test.full_name")];
    }
  }
  EXPECT_EQ(disabled, (std::map<std::string, int>{
                          {"Basic.DISABLED_NotReady", 1}, {"DISABLED_WholeSuite.One", 1}, {"DISABLED_WholeSuite.Two", 1}}));
}

TEST_F(GtestReporter, RepeatCarriesTheIterationAndShuffleTheSeed) {
  run_fixture(fixture, {"--gtest_repeat=3", "--gtest_shuffle", "--gtest_random_seed=42", "--gtest_filter=Basic.Passes"});
  auto fin = finished()["Basic.Passes"];
  ASSERT_EQ(fin.size(), 3u);
  std::set<long long> iterations, seeds;
  for (auto& r : fin) {
    iterations.insert(r.num("run.iteration"));
    seeds.insert(r.num("run.random_seed"));
  }
  EXPECT_EQ(iterations, (std::set<long long>{0, 1, 2}));
  EXPECT_EQ(seeds, (std::set<long long>{42, 43, 44}));
  EXPECT_EQ(with_event(records(), "run_started").size(), 1u);
}

TEST_F(GtestReporter, DeathTestChildrenWriteNothingInEitherStyle) {
  for (const char* style : {"fast", "threadsafe"}) {
    server.reset_received();
    RunResult r = run_fixture(fixture, {"--gtest_filter=DeathTest.*", std::string("--gtest_death_test_style=") + style});
    EXPECT_EQ(r.exit_code, 0) << style << r.out << r.err;
    auto all = records();
    expect_unique_ids(all);
    EXPECT_EQ(with_event(all, "run_started").size(), 1u) << style;
    EXPECT_EQ(with_event(all, "test_started").size(), 2u) << style;
    EXPECT_EQ(with_event(all, "test_finished").size(), 2u) << style;
    EXPECT_EQ(with_event(all, "run_crashed").size(), 0u) << style;
    for (auto& f : finished()) EXPECT_EQ(f.second[0].str("test.result"), "passed") << style << f.first;
    EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << style << ": no journal of a child left behind";
    EXPECT_EQ(r.err.find("detected"), std::string::npos) << "no 'threads detected' warning: " << r.err;
  }
}

TEST_F(GtestReporter, CrashesNameTheTestThatWasRunning) {
  struct Case {
    const char* how;
    std::vector<std::string> extra;
    const char* reason;
  };
  for (const Case& c : {Case{"segv", {}, "signal"}, Case{"abort", {}, "signal"}, Case{"exit", {}, "exit"},
                        Case{"throw", {"--gtest_catch_exceptions=0"}, "signal"}}) {
    server.reset_received();
    std::vector<std::string> args = {"--gtest_filter=Basic.Passes:Crash.Now:Zz.LastTest"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    RunResult r = run_fixture(fixture, args, {{"FIXTURE_CRASH", c.how}});
    if (std::string(c.how) == "exit") {
      EXPECT_EQ(r.exit_code, 3);
    } else if (std::string(c.how) == "segv") {
      EXPECT_TRUE(ended_by_segv(r)) << r.signal;
    } else {
      EXPECT_EQ(r.signal, SIGABRT) << c.how;
    }
    ASSERT_TRUE(server.wait_for_records(4, 8000)) << c.how;
    auto all = records();
    auto crashed = with_event(all, "run_crashed");
    ASSERT_EQ(crashed.size(), 1u) << c.how;
    EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.Now") << c.how;
    EXPECT_EQ(crashed[0].str("crash.reason"), c.reason) << c.how;
    EXPECT_EQ(finished()["Basic.Passes"][0].str("test.result"), "passed") << "tests before it are kept";
    EXPECT_EQ(finished().count("Zz.LastTest"), 0u) << "tests after it never ran";
  }
}

TEST_F(GtestReporter, ListingAndHelpRecordNothingAndLeaveNoFiles) {
  for (const char* arg : {"--gtest_list_tests", "--help", "--gtest_unknown_flag"}) {
    RunResult r = run_fixture(fixture, {arg});
    EXPECT_EQ(r.exit_code, 0) << arg;
    EXPECT_EQ(server.requests(Channel::any), 0u) << arg;
    EXPECT_TRUE(list_files(dir.path()).empty()) << arg << ": " << list_files(dir.path()).size() << " files";
  }
}

// The same run with bstest and with bstest disabled: identical exit code and console output.
TEST_F(GtestReporter, ExitCodeAndConsoleOutputAreUnchanged) {
  auto normalise = [](std::string s) {
    s = std::regex_replace(s, std::regex(R"(\(\d+ ms( total)?\))"), "(N ms)");
    return s;
  };
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, std::vector<std::string>{"--gtest_filter=Basic.Passes"},
        std::vector<std::string>{"--gtest_filter=DeathTest.*"}}) {
    RunResult with = run_fixture(fixture, args);
    RunResult without = run_fixture(fixture, args, {{"BSTEST_DISABLE", "1"}}, false);
    EXPECT_EQ(with.exit_code, without.exit_code);
    EXPECT_EQ(normalise(with.out), normalise(without.out));
  }
  RunResult passing = run_fixture(fixture, {}, {{"FIXTURE_ONLY_PASSING", "1"}});
  EXPECT_EQ(passing.exit_code, 0) << passing.out;
}

TEST_F(GtestReporter, AllThreeWaysToRegisterReport) {
  for (const std::string& binary : {fixture, fixture_main, fixture_auto}) {
    server.reset_received();
    RunResult r = run_fixture(binary, {"--gtest_filter=Basic.Passes:Basic.FailsWithMessage"});
    EXPECT_EQ(r.exit_code, 1) << binary;
    auto fin = finished();
    EXPECT_EQ(fin.size(), 2u) << binary;
    EXPECT_EQ(fin["Basic.Passes"].size(), 1u) << binary << ": registered exactly once";
    EXPECT_EQ(fin["Basic.FailsWithMessage"][0].str("test.result"), "failed") << binary;
  }
}

}  // namespace
