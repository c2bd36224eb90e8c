// The bstest command end to end: `bstest run` over suites of real GoogleTest binaries, the heartbeat's
// one-ping-per-suite rule (shards included), `bstest heartbeat`, `bstest flush` and `bstest doctor`.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace bstest::testing;

namespace {

class Cli : public ::testing::Test {
 protected:
  std::string fixture = build_path("BSTEST_TEST_GTEST_FIXTURE");
  std::string fixture_main = build_path("BSTEST_TEST_GTEST_FIXTURE_MAIN");
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;
  FakeBetterStack server;

  RunResult bs(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {},
               bool with_server = true) {
    RunSpec spec;
    spec.argv = {bstest};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    if (with_server) spec.env = server.env();
    for (auto& e : env) spec.env.push_back(e);
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "5000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.cwd = dir.path();
    return run(spec);
  }

  std::vector<Json> records() { return parse_all(server.records()); }
};

TEST_F(Cli, PassingMultiBinarySuiteSendsExactlyOneSuccessPing) {
  std::string script = "'" + fixture + "' --gtest_filter=Basic.Passes && '" + fixture_main +
                       "' --gtest_filter=Basic.Passes:DeathTest.*";
  RunResult r = bs({"run", "--", "sh", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto all = records();
  EXPECT_EQ(with_event(all, "run_started").size(), 2u) << "both binaries reported under one run";
  std::set<std::string> run_ids;
  for (auto& rec : all) run_ids.insert(rec.str("run.id"));
  EXPECT_EQ(run_ids.size(), 1u) << "one shared run id";
  auto suite = with_event(all, "suite_finished");
  ASSERT_EQ(suite.size(), 1u);
  EXPECT_EQ(suite[0].str("summary.result"), "passed");
  EXPECT_EQ(suite[0].num("summary.programs"), 2);
  EXPECT_EQ(suite[0].num("summary.passed"), 4);
  auto pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 1u) << "one ping per suite: none from binaries or death-test children";
  EXPECT_EQ(pings[0].method, "GET");
  EXPECT_EQ(pings[0].path_suffix, "");
  EXPECT_NE(r.err.find("PASSED, 2 programs"), std::string::npos) << r.err;
  EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << "all delivered";
}

// The nightly example: all of `meson test` (several binaries, each registered a different way) is one suite.
TEST_F(Cli, MesonTestUnderBstestRunIsOneSuite) {
  if (build_path("BSTEST_TEST_HAS_NIGHTLY") != "1") GTEST_SKIP() << "the examples are not built (-Dexamples=disabled)";
  std::string build = build_path("BSTEST_TEST_BUILD_ROOT");
  RunResult r = bs({"run", "--", "meson", "test", "-C", build, "--suite", "nightly", "--no-rebuild", "--logbase",
                    "nightly-under-bstest"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto all = records();
  // Two GoogleTest programs and, when Catch2 is built, one Catch2 program.
  std::set<std::string> frameworks;
  for (auto& s : with_event(all, "run_started")) frameworks.insert(s.str("run.framework"));
  bool catch2 = frameworks.count("catch2") != 0;
  EXPECT_EQ(with_event(all, "run_started").size(), catch2 ? 3u : 2u) << r.err;
  auto suite = with_event(all, "suite_finished");
  ASSERT_EQ(suite.size(), 1u);
  EXPECT_EQ(suite[0].num("summary.programs"), catch2 ? 3 : 2);
  EXPECT_EQ(suite[0].num("summary.passed"), catch2 ? 12 : 10);
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "");
}

TEST_F(Cli, FailingSuitePingsTheExitCodeWithWhatBroke) {
  RunResult r = bs({"run", "--", fixture, "--gtest_filter=Basic.Passes:Basic.FailsWithMessage"}, {{"BSTEST_RETRIES", "0"}});
  EXPECT_EQ(r.exit_code, 1);
  auto pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].method, "POST");
  EXPECT_EQ(pings[0].path_suffix, "/1");
  EXPECT_NE(pings[0].body.find("1 failed"), std::string::npos) << pings[0].body;
  EXPECT_NE(pings[0].body.find("Basic.FailsWithMessage"), std::string::npos) << pings[0].body;
  EXPECT_NE(pings[0].body.find("fixture_suite.cpp:"), std::string::npos) << pings[0].body;
  EXPECT_NE(pings[0].body.find("Expected equality of these values:"), std::string::npos) << pings[0].body;
  EXPECT_LE(pings[0].body.size(), 10000u);
  EXPECT_NE(r.err.find("Failures:"), std::string::npos) << r.err;
}

TEST_F(Cli, NoPingOnFailureWhenAskedNot) {
  bs({"run", "--", fixture, "--gtest_filter=Basic.FailsWithMessage"},
     {{"BSTEST_RETRIES", "0"}, {"BSTEST_HEARTBEAT_ON_FAILURE", "none"}});
  EXPECT_EQ(server.heartbeats().size(), 0u);
}

TEST_F(Cli, FlakyTestsUnderBstestRunAreReRunAndForgiven) {
  RunResult r = bs({"run", "--", fixture, "--gtest_filter=Flaky.PassesOnSecondAttempt:Basic.Passes"},
                   {{"FIXTURE_FLAKY", "1"}});
  EXPECT_EQ(r.exit_code, 0) << "every failure was flaky\n" << r.err;
  auto flaky = with_event(records(), "test_flaky");
  ASSERT_EQ(flaky.size(), 1u);
  EXPECT_EQ(flaky[0].str("run.binary"), "gtest_fixture") << "the verdict is in the name of the binary";
  ASSERT_TRUE(server.wait_for_envelopes(1, 5000));
  Json ev(server.envelopes()[0].event);
  EXPECT_EQ(ev.str("exception.values.0.type"), "FlakyTest");
  EXPECT_EQ(ev.str("fingerprint.3"), "gtest_fixture");
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "") << "flaky counts as passed";
  RunResult strict = bs({"run", "--", fixture, "--gtest_filter=Flaky.PassesOnSecondAttempt"},
                        {{"FIXTURE_FLAKY", "1"}, {"BSTEST_FLAKY_FAILS", "1"}});
  EXPECT_EQ(strict.exit_code, 1);
}

TEST_F(Cli, CrashedBinaryIsReportedWithItsSignalAndTheHeartbeatFails) {
  RunResult r = bs({"run", "--", fixture, "--gtest_filter=Basic.Passes:Crash.Now"}, {{"FIXTURE_CRASH", "abort"}});
  EXPECT_EQ(r.exit_code, 128 + SIGABRT);
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.Now");
  ASSERT_TRUE(server.wait_for_envelopes(1, 5000));
  Json ev(server.envelopes()[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  auto pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].path_suffix, "/" + std::to_string(128 + SIGABRT));
  EXPECT_NE(pings[0].body.find("CRASHED in Crash.Now (SIGABRT)"), std::string::npos) << pings[0].body;
}

TEST_F(Cli, ShardsNeverPingAndTheAggregatorDecides) {
  std::string sums = dir / "summaries";
  for (int shard = 0; shard < 2; ++shard) {
    RunResult r = bs({"run", "--summary-out", sums + "-" + std::to_string(shard) + ".json", "--", fixture,
                      "--gtest_filter=Basic.Passes:Zz.*:Typed*"},
                     {{"GTEST_TOTAL_SHARDS", "2"}, {"GTEST_SHARD_INDEX", std::to_string(shard)}, {"BSTEST_SUITE_ID", "s1"}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(server.heartbeats().size(), 0u) << "no ping from a shard";
  std::string all = dir / "all";
  RunSpec mv;
  mv.argv = {"sh", "-c", "mkdir -p '" + all + "/a' '" + all + "/b' && mv '" + sums + "-0.json' '" + all +
                             "/a/' && mv '" + sums + "-1.json' '" + all + "/b/'"};
  ASSERT_EQ(run(mv).exit_code, 0);
  RunResult ok = bs({"heartbeat", "--summaries", all, "--expect-shards", "2"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "");
  RunResult missing = bs({"heartbeat", "--summaries", all, "--expect-shards", "3"});
  EXPECT_EQ(missing.exit_code, 0) << "the failure ping was sent";
  ASSERT_EQ(server.heartbeats().size(), 2u);
  EXPECT_EQ(server.heartbeats()[1].path_suffix, "/fail");
  EXPECT_NE(server.heartbeats()[1].body.find("2 of 3 shards reported; missing shard 2"), std::string::npos)
      << server.heartbeats()[1].body;
}

TEST_F(Cli, HeartbeatCommandAndKeepingAPingForFlush) {
  write_file(dir / "body.txt", "3 tests failed in nightly");
  RunResult r = bs({"heartbeat", "--exit-code", "3", "--body-file", dir / "body.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "/3");
  EXPECT_EQ(server.heartbeats()[0].body, "3 tests failed in nightly");

  ClosedPort closed;
  RunResult down = bs({"heartbeat"}, {{"BETTERSTACK_UPTIME_HEARTBEAT_URL",
                                      closed.origin() + "/api/v1/heartbeat/" + server.options().heartbeat_token}});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("connection refused"), std::string::npos) << down.err;
  EXPECT_NE(down.err.find("bstest flush"), std::string::npos) << down.err;
  EXPECT_EQ(down.err.find(server.options().heartbeat_token), std::string::npos) << "the URL is a secret";
  RunResult flushed = bs({"flush", dir / "bs"});
  EXPECT_EQ(flushed.exit_code, 0) << flushed.err;
  ASSERT_EQ(server.heartbeats().size(), 2u);
  EXPECT_EQ(server.heartbeats()[1].method, "GET");
  EXPECT_TRUE(list_files(dir / "bs/journal").empty());
}

TEST_F(Cli, SigtermReachesTheCommandAndWhatWasRecordedIsShipped) {
  RunSpec spec;
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir / "bs");
  spec.cwd = dir.path();
  spec.argv = {"sh", "-c", "\"$0\" run -- \"$1\" crash sleep & p=$!; sleep 1; kill -TERM $p; wait $p; echo rc=$?",
               bstest, driver};
  RunResult r = run(spec);
  EXPECT_NE(r.out.find("rc=143"), std::string::npos) << r.out << r.err;
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << r.err;
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGTERM");
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(with_event(records(), "test_finished").size(), 1u);
}

TEST_F(Cli, FlushWithNothingConfiguredSaysWhatToSet) {
  bs({"run", "--", fixture, "--gtest_filter=Basic.Passes"}, {}, false);
  RunResult r = bs({"flush", dir / "bs"}, {}, false);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("BETTERSTACK_SOURCE_TOKEN"), std::string::npos) << r.err;
}

TEST_F(Cli, DoctorOnGoodAndBadConfigurations) {
  RunResult good = bs({"doctor", "--send-test-event"});
  EXPECT_EQ(good.exit_code, 0) << good.out;
  EXPECT_NE(good.out.find("ok    Better Stack Logs: 127.0.0.1 resolves"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("test record accepted"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("test event accepted"), std::string::npos) << good.out;
  EXPECT_EQ(server.heartbeats().size(), 0u) << "doctor never pings the heartbeat";
  auto doctor_records = with_event(records(), "doctor");
  EXPECT_EQ(doctor_records.size(), 1u);
  EXPECT_EQ(server.envelopes().size(), 1u);

  RunResult bad = bs({"doctor"}, {{"BETTERSTACK_SOURCE_TOKEN", "has space"}, {"BETTERSTACK_ERRORS_DSN", "https://errors.example.com/1"}});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("FAIL  configuration: BETTERSTACK_SOURCE_TOKEN contains whitespace"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("BETTERSTACK_ERRORS_DSN has no key"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find("has space"), std::string::npos) << "a token is never printed";

  ClosedPort closed;
  RunResult down = bs({"doctor"}, {{"BETTERSTACK_INGEST_HOST", closed.origin()}});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.out.find("connection refused"), std::string::npos) << down.out;
}

TEST_F(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(bs({"run"}).exit_code, 2);
  EXPECT_EQ(bs({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(bs({"heartbeat", "--summaries", "x"}).exit_code, 2);
  RunResult missing = bs({"run", "--", "/nonexistent/program"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_EQ(bs({"run", "--help"}).exit_code, 0);
}

}  // namespace
