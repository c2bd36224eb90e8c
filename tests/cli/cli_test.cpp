// The bstest command end to end: `bstest run` over suites of real GoogleTest binaries, the heartbeat's
// one-ping-per-suite rule (shards included), `bstest heartbeat`, `bstest flush` and `bstest doctor`.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

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

  using Env = std::vector<std::pair<std::string, std::string>>;

  // The environment of every program a test starts: the server (unless not wanted), our folder and
  // shipper, then `env` (a later entry wins).
  RunSpec spec_with(std::vector<std::string> argv, const Env& env = {}, bool with_server = true) {
    RunSpec spec;
    spec.argv = std::move(argv);
    if (with_server) spec.env = server.env();
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "5000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    for (auto& e : env) spec.env.push_back(e);
    spec.cwd = dir.path();
    return spec;
  }

  RunResult bs(std::vector<std::string> args, const Env& env = {}, bool with_server = true) {
    args.insert(args.begin(), bstest);
    return run(spec_with(std::move(args), env, with_server));
  }

  // A shell script, given bstest as $0 and `args` as $1...
  RunResult script(const std::string& text, std::vector<std::string> args, const Env& env = {}) {
    std::vector<std::string> argv = {"sh", "-c", text, bstest};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(spec_with(std::move(argv), env));
  }

  std::vector<Json> records() { return parse_all(server.records()); }

  // `bstest run -- session_driver ARGS`, whose program is killed with SIGKILL once it printed READY: what
  // bstest run wrote to stderr (it ends with the program's status, 137).
  std::string run_then_kill(const std::string& driver_args);
};

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Shell: wait until file $1 says READY (a test program printed it), at most 30 s.
const char* const kUntilReady =
    "n=0; until grep -q READY \"$1\" 2>/dev/null; do sleep 0.1; n=$((n+1)); [ $n -gt 300 ] && break; done; ";

std::string Cli::run_then_kill(const std::string& driver_args) {
  RunResult r = script("\"$0\" run -- \"$2\" " + driver_args + " > \"$1\" 2> \"$1.err\" & p=$!; " + kUntilReady +
                           "kill -KILL $(cat /proc/$p/task/*/children); wait $p; echo rc=$?",
                       {dir / "out", driver});
  EXPECT_NE(r.out.find("rc=137"), std::string::npos) << r.out << r.err;
  return read_file(dir / "out.err");
}

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
#if BSTEST_TEST_HAS_NIGHTLY  // the examples are built
TEST_F(Cli, MesonTestUnderBstestRunIsOneSuite) {
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
#endif

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
  RunResult r = bs({"run", "--", fixture, "--gtest_filter=Basic.FailsWithMessage"},
                   {{"BSTEST_RETRIES", "0"}, {"BSTEST_HEARTBEAT_ON_FAILURE", "none"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto suite = with_event(records(), "suite_finished");
  ASSERT_EQ(suite.size(), 1u) << "the suite was reported: " << r.err;
  EXPECT_EQ(suite[0].str("summary.result"), "failed");
  EXPECT_EQ(server.heartbeats().size(), 0u);
  EXPECT_EQ(server.requests(Channel::heartbeat), 0u);
  EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << "no ping kept for a later flush either";
}

// The verdict comes from the journals, read once the command is over, never from what the network let
// through: a Logs endpoint that hangs changes neither the verdict nor the heartbeat.
TEST_F(Cli, AHangingLogsEndpointChangesNeitherTheVerdictNorTheHeartbeat) {
  Fault hang;
  hang.kind = Fault::Kind::hang;
  server.inject(Channel::logs, hang, -1);
  std::string both = "'" + fixture + "' --gtest_filter=Basic.Passes && '" + fixture_main + "' --gtest_filter=Basic.Passes";
  // Each Logs request hangs until it times out (longer than the old wait for the shipper to catch up).
  RunResult r = bs({"run", "--deadline-ms", "1000", "--summary-out", dir / "summary.json", "--", "sh", "-c", both},
                   {{"BSTEST_REQUEST_TIMEOUT_MS", "12000"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("PASSED, 2 programs, 2 tests: 2 passed"), std::string::npos) << r.err;
  ASSERT_EQ(server.heartbeats().size(), 1u) << r.err;
  EXPECT_EQ(server.heartbeats()[0].method, "GET");
  EXPECT_NE(r.err.find("heartbeat sent"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not yet sent: "), std::string::npos) << r.err;
  EXPECT_LE(count_of(r.err, "sending..."), 1u) << "one progress line in a log, not one a second\n" << r.err;
  EXPECT_NE(read_file(dir / "summary.json").find("\"result\":\"passed\""), std::string::npos);

  // What Logs did not take is kept with the right verdict; the ping is not sent again.
  server.clear_faults();
  RunResult flushed = bs({"flush", dir / "bs"});
  EXPECT_EQ(flushed.exit_code, 0) << flushed.err;
  auto suite = with_event(records(), "suite_finished");
  ASSERT_EQ(suite.size(), 1u);
  EXPECT_EQ(suite[0].str("summary.result"), "passed");
  EXPECT_EQ(with_event(records(), "run_started").size(), 2u);
  EXPECT_EQ(server.heartbeats().size(), 1u);
}

// The drain deadline counts from the end of the suite, not from the first program's end: events written
// late in a long suite still get their retries.
TEST_F(Cli, ASuiteLongerThanTheFlushTimeoutStillRetriesItsEvents) {
  Fault reset;
  reset.kind = Fault::Kind::reset;
  server.inject(Channel::errors, reset, 1);
  server.inject(Channel::heartbeat, reset, 1);
  std::string slow = "'" + fixture + "' --gtest_filter=Basic.Passes && sleep 3 && '" + fixture +
                     "' --gtest_filter=Flaky.PassesOnSecondAttempt";
  RunResult r = bs({"run", "--", "sh", "-c", slow}, {{"FIXTURE_FLAKY", "1"}, {"BSTEST_FLUSH_TIMEOUT_MS", "2000"}});
  // A script's exit code cannot be accounted for test by test: its flaky test does not make it 0.
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(server.requests(Channel::errors), 2u) << "the flaky event, its connection reset once, then accepted";
  ASSERT_EQ(server.envelopes().size(), 1u) << r.err;
  EXPECT_EQ(Json(server.envelopes()[0].event).str("exception.values.0.type"), "FlakyTest");
  EXPECT_EQ(server.heartbeats().size(), 1u) << "the ping, retried after a reset";
  EXPECT_EQ(r.err.find("not yet sent"), std::string::npos) << r.err;
  EXPECT_TRUE(list_files(dir / "bs/journal").empty());
}

// errors issue: a command that exits 0 although a test failed or a program crashed does not pass.
TEST_F(Cli, ACommandThatExitsZeroDespiteFailuresDoesNotPass) {
  RunResult failed = bs({"run", "--", "sh", "-c", "'" + fixture + "' --gtest_filter=Basic.FailsWithMessage; exit 0"},
                        {{"BSTEST_RETRIES", "0"}});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  RunResult crashed =
      bs({"run", "--", "sh", "-c", "'" + fixture + "' --gtest_filter=Crash.Now; exit 0"}, {{"FIXTURE_CRASH", "abort"}});
  EXPECT_EQ(crashed.exit_code, 1) << crashed.err;
  auto pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 2u);
  EXPECT_EQ(pings[0].path_suffix, "/1");
  EXPECT_EQ(pings[1].path_suffix, "/1");
  EXPECT_NE(pings[1].body.find("CRASHED in Crash.Now (SIGABRT)"), std::string::npos) << pings[1].body;
}

// A program killed without a word (SIGKILL, a CI time-out) is named with the signal and the test it ran.
TEST_F(Cli, AKilledProgramIsNamedWithItsSignalAndItsTest) {
  std::string err = run_then_kill("crash sleep");
  EXPECT_NE(err.find("CRASHED in Crash.sleep (SIGKILL)"), std::string::npos) << err;
  ASSERT_EQ(server.heartbeats().size(), 1u) << err;
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "/137");
  EXPECT_NE(server.heartbeats()[0].body.find("CRASHED in Crash.sleep (SIGKILL)"), std::string::npos)
      << server.heartbeats()[0].body;
  // Its crash record and its one crash event name the signal too.
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << err;
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(crashed[0].str("crash.reason"), "ended");
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGKILL");
  EXPECT_EQ(crashed[0].num("crash.signo"), SIGKILL);
  EXPECT_NE(crashed[0].str("message").find("killed by SIGKILL"), std::string::npos) << crashed[0].str("message");
  // No stack, and why: no handler sees SIGKILL.
  const std::string no_stack = "no stack: SIGKILL cannot be caught, so the program could not keep one";
  EXPECT_EQ(crashed[0].str("crash.stack_note"), no_stack);
  EXPECT_FALSE(crashed[0].has("crash.frames"));
  ASSERT_TRUE(server.wait_for_envelopes(1, 5000)) << err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(server.envelopes().size(), 1u) << err;
  Json ev(server.envelopes()[0].event);
  EXPECT_EQ(ev.str("level"), "fatal");
  EXPECT_EQ(ev.str("transaction"), "Crash.sleep");
  EXPECT_EQ(ev.str("exception.values.0.type"), "SIGKILL");
  EXPECT_EQ(ev.num("exception.values.0.mechanism.meta.signal.number"), SIGKILL);
  EXPECT_EQ(ev.str("extra.stack_note"), no_stack);
  EXPECT_FALSE(ev.has("exception.values.0.stacktrace"));
  EXPECT_FALSE(ev.has("exception.values.0.mechanism.synthetic")) << "no frames: titled by its type and value";
}

// A program killed between two tests: no test is named, not even the one that finished last (its start was
// the last test_started the program wrote).
TEST_F(Cli, AProgramKilledBetweenTestsNamesNoTest) {
  std::string err = run_then_kill("between");
  EXPECT_NE(err.find("session_driver: CRASHED (SIGKILL)"), std::string::npos) << err;
  EXPECT_EQ(err.find("CRASHED in"), std::string::npos) << "the test that finished is not blamed: " << err;
  ASSERT_EQ(server.heartbeats().size(), 1u) << err;
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "/137");
  EXPECT_EQ(server.heartbeats()[0].body.find("CRASHED in"), std::string::npos) << server.heartbeats()[0].body;
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << err;
  EXPECT_FALSE(crashed[0].has("test")) << "outside any test";
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGKILL");
}

TEST_F(Cli, SetUpFailuresAreInTheBodyAndTheTable) {
  RunResult r = bs({"run", "--", fixture, "--gtest_filter=SetUpFails.*"}, {{"BSTEST_RETRIES", "0"}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::string line = "gtest_fixture: outside any test: suite_setup of SetUpFails: ";
  EXPECT_NE(r.err.find(line), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("suite resource unavailable"), std::string::npos) << r.err;
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "/1");
  EXPECT_NE(server.heartbeats()[0].body.find(line), std::string::npos) << server.heartbeats()[0].body;
  auto suite = with_event(records(), "suite_finished");
  ASSERT_EQ(suite.size(), 1u);
  EXPECT_EQ(suite[0].num("summary.fixture_failures"), 1) << "one SetUpTestSuite failed";
}

// "At least one test ran" and "sharded" mean the same for a binary alone and for bstest run.
TEST_F(Cli, ABinaryAloneAndBstestRunAgreeOnWhatPasses) {
  auto alone = [&](const std::string& filter, const Env& env) {
    return run(spec_with({fixture, "--gtest_filter=" + filter}, env));
  };
  // Every test skipped: nothing was tested.
  RunResult a = alone("Basic.SkipsWithReason", {});
  EXPECT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(server.wait_for_heartbeats(1, 10000)) << a.err;
  RunResult b = bs({"run", "--", fixture, "--gtest_filter=Basic.SkipsWithReason"});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  auto pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 2u) << b.err;
  for (const auto& p : pings) {
    EXPECT_EQ(p.path_suffix, "/fail");
    EXPECT_NE(p.body.find("no test ran"), std::string::npos) << p.body;
  }
  // Shard 0 of 1 is the whole suite.
  Env one = {{"BSTEST_SHARD_TOTAL", "1"}, {"BSTEST_SHARD_INDEX", "0"}};
  RunResult c = alone("Basic.Passes", one);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  ASSERT_TRUE(server.wait_for_heartbeats(3, 10000)) << c.err;
  RunResult d = bs({"run", "--", fixture, "--gtest_filter=Basic.Passes"}, one);
  EXPECT_EQ(d.exit_code, 0) << d.err;
  pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 4u) << d.err;
  EXPECT_EQ(pings[2].path_suffix, "");
  EXPECT_EQ(pings[3].path_suffix, "");
}

// bstest run inside bstest run (a script that calls it, meson test of a project that wraps its tests) is
// one suite, decided by the outer one.
TEST_F(Cli, NestedBstestRunIsOneSuite) {
  RunResult r = bs({"run", "--", bstest, "run", "--", fixture, "--gtest_filter=Basic.Passes"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto all = records();
  EXPECT_EQ(with_event(all, "run_started").size(), 1u);
  auto suite = with_event(all, "suite_finished");
  ASSERT_EQ(suite.size(), 1u) << r.err;
  EXPECT_EQ(suite[0].num("summary.programs"), 1);
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "");
  RunResult missing = bs({"run", "--", "/nonexistent/program"}, {{"BSTEST_ROLE", "child"}});
  EXPECT_EQ(missing.exit_code, 127);
}

TEST_F(Cli, FlakyTestsUnderBstestRunAreReRunAndForgiven) {
  RunResult r = bs({"run", "--", fixture, "--gtest_filter=Flaky.PassesOnSecondAttempt:Basic.Passes"},
                   {{"FIXTURE_FLAKY", "1"}});
  EXPECT_EQ(r.exit_code, 0) << "every failure was flaky\n" << r.err;
  // The provided mains' re-run loop, and its words.
  EXPECT_NE(r.err.find("bstest: re-running Flaky.PassesOnSecondAttempt of gtest_fixture (attempt 2 of 3)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("bstest: Flaky.PassesOnSecondAttempt of gtest_fixture is flaky: it failed, then passed on attempt 2"),
            std::string::npos)
      << r.err;
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

// Sharding with bstest's own variables, a failing shard, and GitHub's "Re-run failed jobs": the shard's
// newer attempt replaces its failed one (by attempt and time, not by file time: artifacts are downloaded).
TEST_F(Cli, AFailedShardIsNamedAndAReRunJobReplacesIt) {
  std::string sums = dir / "sums";
  RunSpec mk;
  mk.argv = {"mkdir", "-p", sums};
  ASSERT_EQ(run(mk).exit_code, 0);
  auto shard = [&](int index, int attempt, const std::string& filter) {
    std::string name = "s" + std::to_string(index) + "-a" + std::to_string(attempt);
    return bs({"run", "--summary-out", sums + "/" + name + ".json", "--", fixture, "--gtest_filter=" + filter},
              {{"BSTEST_SHARD_TOTAL", "2"},
               {"BSTEST_SHARD_INDEX", std::to_string(index)},
               {"GITHUB_RUN_ID", "777"},
               {"GITHUB_RUN_ATTEMPT", std::to_string(attempt)},
               {"BSTEST_RETRIES", "0"}});
  };
  EXPECT_EQ(shard(0, 1, "Basic.Passes").exit_code, 0);
  EXPECT_EQ(shard(1, 1, "Basic.Passes:Basic.FailsWithMessage").exit_code, 1);
  EXPECT_EQ(server.heartbeats().size(), 0u) << "no ping from a shard";

  RunResult failed = bs({"heartbeat", "--summaries", sums, "--expect-shards", "2"});
  EXPECT_EQ(failed.exit_code, 0) << failed.err;
  ASSERT_EQ(server.heartbeats().size(), 1u);
  EXPECT_EQ(server.heartbeats()[0].path_suffix, "/fail");
  std::string body = server.heartbeats()[0].body;
  EXPECT_NE(body.find("2 of 2 shards reported; failed shard 1"), std::string::npos) << body;
  EXPECT_NE(body.find("shard 1: gtest_fixture: Basic.FailsWithMessage"), std::string::npos) << body;

  // The job of shard 1 is re-run and passes; its first attempt's summary is still there, and newer on disk.
  EXPECT_EQ(shard(1, 2, "Basic.Passes").exit_code, 0);
  RunSpec touch;
  touch.argv = {"touch", sums + "/s1-a1.json"};
  ASSERT_EQ(run(touch).exit_code, 0);
  RunResult passed = bs({"heartbeat", "--summaries", sums, "--expect-shards", "2"});
  EXPECT_EQ(passed.exit_code, 0) << passed.err;
  ASSERT_EQ(server.heartbeats().size(), 2u);
  EXPECT_EQ(server.heartbeats()[1].path_suffix, "") << passed.err;
  EXPECT_NE(passed.err.find("2 of 2 shards reported, all passed"), std::string::npos) << passed.err;
  Json summary(read_file(sums + "/s1-a2.json"));
  EXPECT_EQ(summary.str("suite"), "github-777");
  EXPECT_EQ(summary.num("attempt"), 2);
  EXPECT_EQ(summary.num("shard_index"), 1);
  EXPECT_EQ(summary.num("shard_total"), 2);
  EXPECT_EQ(summary.str("finished_at").size(), 24u) << summary.str("finished_at");
}

// The ping's body is cut once, on a character boundary, with a note; every byte of it arrives.
TEST_F(Cli, TheHeartbeatBodyIsCutOnceOnACharacterBoundary) {
  std::string big;
  for (int k = 0; k < 6000; ++k) big += "\xC3\xA9";  // 12000 bytes of U+00E9
  write_file(dir / "big.txt", big);
  RunResult r = bs({"heartbeat", "--exit-code", "4", "--body-file", dir / "big.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string nul = std::string("before") + '\0' + "after";
  write_file(dir / "nul.txt", nul);
  RunResult n = bs({"heartbeat", "--fail", "--body-file", dir / "nul.txt"});
  EXPECT_EQ(n.exit_code, 0) << n.err;
  auto pings = server.heartbeats();
  ASSERT_EQ(pings.size(), 2u);
  const std::string& body = pings[0].body;
  EXPECT_EQ(pings[0].path_suffix, "/4");
  EXPECT_LE(body.size(), 10000u);
  auto note = body.find(" [bstest: truncated, kept ");
  ASSERT_NE(note, std::string::npos) << body.substr(body.size() - 80);
  EXPECT_EQ(note % 2, 0u) << "cut between two characters";
  EXPECT_EQ(body.substr(0, note), big.substr(0, note));
  EXPECT_NE(body.find("of 12000 bytes]"), std::string::npos) << body.substr(note);
  EXPECT_EQ(pings[1].body, nul);
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

// On a terminal the command has the foreground, so Ctrl-C reaches it and not bstest run. A command that
// catches it and exits 130 (as meson test and shells do) was still interrupted: no re-run starts. The
// terminal is a pseudo-terminal of `script` (util-linux), fed a Ctrl-C once the failed test has run.
TEST_F(Cli, CtrlCOnATerminalStopsTheRunBeforeReRuns) {
  if (::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) for a terminal";
  write_file(dir / "cmd.sh", "FIXTURE_FLAKY=1 '" + fixture + "' --gtest_filter=Flaky.AlwaysFails > /dev/null 2>&1\n"
                             "trap 'exit 130' INT\n"
                             "touch '" + (dir / "ready") + "'\n"
                             "sleep 30 & wait\n");
  RunSpec spec;
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir / "bs");
  spec.cwd = dir.path();
  spec.argv = {"sh", "-c",
               "(n=0; until [ -e \"$2/ready\" ]; do sleep 0.05; n=$((n+1)); [ $n -gt 600 ] && break; done; "
               "printf '\\003'; sleep 2) | script -qfec \"'$0' run -- sh '$1'\" /dev/null; echo rc=$?",
               bstest, dir / "cmd.sh", dir.path()};
  RunResult r = run(spec);
  EXPECT_NE(r.out.find("rc=130"), std::string::npos) << r.out << r.err;
  std::size_t attempts = 0;
  for (auto& t : with_event(records(), "test_finished")) attempts += t.str("test.full_name") == "Flaky.AlwaysFails";
  EXPECT_EQ(attempts, 1u) << "no re-run after Ctrl-C\n" << r.out;
}

TEST_F(Cli, SigtermReachesTheCommandAndWhatWasRecordedIsShipped) {
  RunSpec spec;
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_DIR", dir / "bs");
  spec.cwd = dir.path();
  spec.argv = {"sh", "-c",
               sh_start_until_ready("\"$0\" run -- \"$1\" crash sleep", dir / "out") + "kill -TERM $p; wait $p; echo rc=$?",
               bstest, driver};
  RunResult r = run(spec);
  EXPECT_NE(r.out.find("rc=143"), std::string::npos) << r.out << r.err;
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << r.err;
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGTERM");
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(with_event(records(), "test_finished").size(), 1u);
}

// A signal reaches every program of the command (here a script's), and bstest run ends soon after.
TEST_F(Cli, SigtermReachesEveryProgramOfAScript) {
  RunResult r = script(std::string("\"$0\" run -- sh -c '\"$0\" crash sleep; echo after' \"$2\" > \"$1\" 2> \"$1.err\" & "
                                   "p=$!; ") +
                           kUntilReady + "kill -TERM $p; wait $p; echo rc=$?",
                       {dir / "out", driver});
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.out.find("rc=143"), std::string::npos) << r.out << r.err << read_file(dir / "out.err");
  EXPECT_EQ(read_file(dir / "out").find("after"), std::string::npos) << "the script was stopped too";
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << read_file(dir / "out.err");
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGTERM") << "the script's program got the signal itself";
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_LT(r.seconds, 30);
}

// A signal that arrives while a failed test is re-run stops the re-run, and no further attempt starts.
TEST_F(Cli, SigtermDuringAReRunStopsIt) {
  std::string rerun_fixture = build_path("BSTEST_TEST_RERUN_FIXTURE");
  RunResult r = script(
      "\"$0\" run -- \"$2\" > \"$1.out\" 2> \"$1.err\" & p=$!; "
      "n=0; until [ -e \"$1\" ]; do sleep 0.1; n=$((n+1)); [ $n -gt 300 ] && break; done; "
      "kill -TERM $p; wait $p; echo rc=$?",
      {dir / "ready", rerun_fixture}, {{"RERUN_FIXTURE_READY", dir / "ready"}});
  std::string err = read_file(dir / "ready.err");
  EXPECT_FALSE(r.timed_out) << err;
  EXPECT_NE(r.out.find("rc=143\n"), std::string::npos) << "dies of the signal it passed on\n" << r.out << err;
  EXPECT_NE(err.find("attempt 2 of 3"), std::string::npos) << err;
  EXPECT_EQ(err.find("attempt 3 of 3"), std::string::npos) << err;
  EXPECT_NE(err.find("bstest: 1 failed tests were not re-run, or not to the end: a signal interrupted the re-runs"),
            std::string::npos)
      << err;
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << err;
  EXPECT_EQ(crashed[0].num("run.attempt"), 2);
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGTERM");
  auto verdict = with_event(records(), "test_failed");
  ASSERT_EQ(verdict.size(), 1u) << err;
  EXPECT_EQ(verdict[0].str("test.full_name"), "Hang.WhenReRun");
  EXPECT_LT(r.seconds, 30);
}

// bstest run killed with its command (no shipper survives): `bstest flush` delivers what they recorded.
TEST_F(Cli, FlushDeliversARunKilledWithItsShipper) {
  Fault hang;
  hang.kind = Fault::Kind::hang;
  server.inject(Channel::logs, hang, -1);
  RunResult r = script(std::string("\"$0\" run -- \"$2\" crash sleep > \"$1\" 2> \"$1.err\" & p=$!; ") + kUntilReady +
                           "c=$(cat /proc/$p/task/*/children); kill -KILL $p; kill -KILL $c; wait $p; echo rc=$?",
                       {dir / "out", driver});
  EXPECT_NE(r.out.find("rc=137"), std::string::npos) << r.out << r.err;
  server.clear_faults();
  server.reset_received();
  RunResult flushed = bs({"flush", dir / "bs"});
  EXPECT_EQ(flushed.exit_code, 0) << flushed.err;
  auto all = records();
  EXPECT_EQ(with_event(all, "run_started").size(), 1u) << flushed.err;
  EXPECT_EQ(with_event(all, "test_finished").size(), 1u);
  auto crashed = with_event(all, "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << flushed.err;
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(server.heartbeats().size(), 0u) << "nobody decided the suite: the missed ping alerts";
  EXPECT_TRUE(list_files(dir / "bs/journal").empty()) << flushed.err;
}

TEST_F(Cli, FlushWithNothingConfiguredSaysWhatToSet) {
  bs({"run", "--", fixture, "--gtest_filter=Basic.Passes"}, {}, false);
  for (const char* cmd : {"flush", "ship"}) {
    RunResult r = bs(std::string(cmd) == "flush" ? std::vector<std::string>{cmd, dir / "bs"}
                                                 : std::vector<std::string>{cmd, "--dir", dir / "bs"},
                     {}, false);
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_NE(r.err.find("nowhere to send them: set BETTERSTACK_SOURCE_TOKEN"), std::string::npos) << cmd << ": " << r.err;
  }
  EXPECT_FALSE(list_files(dir / "bs/journal").empty()) << "the journals stay for a flush that can send them";
}

TEST_F(Cli, FlushAndShipOfAnEmptyOrMissingFolderSayNothingToSend) {
  for (const std::string& folder : {dir / "missing", dir.path()}) {
    RunResult flushed = bs({"flush", folder});
    EXPECT_EQ(flushed.exit_code, 0) << flushed.err;
    EXPECT_NE(flushed.err.find("bstest flush: nothing to send in " + folder), std::string::npos) << flushed.err;
    RunResult shipped = bs({"ship", "--dir", folder});
    EXPECT_EQ(shipped.exit_code, 0) << shipped.err;
    EXPECT_NE(shipped.err.find("bstest ship: nothing to send in " + folder), std::string::npos) << shipped.err;
  }
  EXPECT_EQ(server.records().size(), 0u);
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

  write_file(dir / "a-file", "not a folder");
  RunResult local = bs({"doctor"}, {{"BSTEST_DIR", dir / "a-file/bstest"}, {"BSTEST_SHIPPER", dir / "no-such-program"}});
  EXPECT_EQ(local.exit_code, 1);
  EXPECT_NE(local.out.find("FAIL  journal folder: "), std::string::npos) << local.out;
  EXPECT_NE(local.out.find("set BSTEST_DIR to a writable folder"), std::string::npos) << local.out;
  EXPECT_NE(local.out.find("warn  companion shipper: BSTEST_SHIPPER=" + (dir / "no-such-program") +
                           " is not an executable file: test programs send their records at exit"),
            std::string::npos)
      << "what is wrong is BSTEST_SHIPPER, not a missing program\n" << local.out;
  EXPECT_EQ(local.out.find("was not found"), std::string::npos) << local.out;
}

TEST_F(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(bs({"run"}).exit_code, 2);
  EXPECT_EQ(bs({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(bs({"heartbeat", "--summaries", "x"}).exit_code, 2);
  RunResult missing = bs({"run", "--", "/nonexistent/program"});
  EXPECT_EQ(missing.exit_code, 127);
  write_file(dir / "not-executable.sh", "#!/bin/sh\n");
  EXPECT_EQ(bs({"run", "--", dir / "not-executable.sh"}).exit_code, 126) << "as a shell says it";
  EXPECT_EQ(bs({"run", "--help"}).exit_code, 0);
  RunResult no_value = bs({"run", "--summary-out"});
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_NE(no_value.err.find("--summary-out needs a value"), std::string::npos) << no_value.err;
  EXPECT_EQ(bs({"run", "--deadline-ms", "--", "true"}).exit_code, 2);
  RunResult two = bs({"flush", dir / "a", dir / "b"});
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_NE(two.err.find("one folder at a time"), std::string::npos) << two.err;
  RunResult help = bs({"help", "run"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out, bs({"run", "--help"}).out);
  EXPECT_EQ(help.out.rfind("usage: bstest run ", 0), 0u) << help.out;
  EXPECT_EQ(bs({"help", "frobnicate"}).exit_code, 2);
  for (const char* cmd : {"run", "flush", "heartbeat", "doctor", "ship"}) {
    RunResult h = bs({cmd, "--help"});
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find("Exit code"), std::string::npos) << cmd << " --help documents its exit codes\n" << h.out;
  }
  EXPECT_NE(bs({"heartbeat", "--help"}).out.find("BSTEST_HEARTBEAT_ON_FAILURE=none"), std::string::npos);
}

}  // namespace
