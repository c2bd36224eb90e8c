// `bstest run` never changes what the tests do, what the suite's verdict is, or what other tools see:
// a failing suite never passes because of flaky tests when something else failed (a program without bstest,
// an exit code set after the tests, a crash in a static destructor, a test runner's time-out); re-runs
// start where the program did; signals the caller ignored stay ignored; a CI that kills the job's process
// group kills the tests too; a signal sent to bstest run ends it by that signal.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace bstest::testing;

namespace {

class RunTrust : public ::testing::Test {
 protected:
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  std::string driver = build_path("BSTEST_TEST_DRIVER");
  std::string flaky_tests = build_path("BSTEST_TEST_EXIT_FIXTURE");              // bstest-gtest-auto + gtest_main
  std::string plain_tests = build_path("BSTEST_TEST_GTEST_FIXTURE_PLAIN");       // no bstest
  std::string errors_fixture = build_path("BSTEST_TEST_GTEST_ERRORS_FIXTURE");   // bstest-gtest-main
  std::string rerun_fixture = build_path("BSTEST_TEST_RERUN_FIXTURE");           // bstest-gtest-main
  TempDir dir;
  FakeBetterStack server;

  using Env = std::vector<std::pair<std::string, std::string>>;

  RunSpec spec_with(std::vector<std::string> argv, const Env& env = {}) {
    RunSpec spec;
    spec.argv = std::move(argv);
    spec.env = server.env();
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "5000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    for (auto& e : env) spec.env.push_back(e);
    spec.cwd = dir.path();
    return spec;
  }

  // `bstest run -- <command>`.
  RunResult bstest_run(std::vector<std::string> command, const Env& env = {}) {
    command.insert(command.begin(), {bstest, "run", "--"});
    return run(spec_with(std::move(command), env));
  }

  std::vector<Json> records() { return parse_all(server.records()); }

  // The one ping of the run: its path suffix ("" for success, "/1" ...) and body.
  Heartbeat ping() {
    auto pings = server.heartbeats();
    EXPECT_EQ(pings.size(), 1u);
    return pings.empty() ? Heartbeat{} : pings.back();
  }
};

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// --- A failing suite does not pass --------------------------------------------------------------------

// The suite of the issue: a program with a flaky test and a program without bstest that fails, in a script
// that fails when either did. Only the flaky test is seen; the script's failure is not its.
TEST_F(RunTrust, AScriptWhoseOtherProgramFailedDoesNotPass) {
  std::string script = "\"$0\" --gtest_filter=Suite.FlakyOnce; a=$?; \"$1\" --gtest_filter=Basic.FailsWithMessage; b=$?; "
                       "[ $a = 0 ] && [ $b = 0 ]";
  RunResult r = bstest_run({"sh", "-c", script, flaky_tests, plain_tests});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "is flaky")) << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/1");
  EXPECT_TRUE(contains(hb.body, "1 flaky")) << hb.body;
  EXPECT_TRUE(contains(hb.body, "exit code 1: something failed that bstest did not see")) << hb.body;
  auto suite = with_event(records(), "suite_finished");
  ASSERT_EQ(suite.size(), 1u);
  EXPECT_EQ(suite[0].str("summary.result"), "failed");
}

// One program whose only failure was flaky, but whose exit status is not what its main returned: a
// leak checker's exit code, a crash in a static destructor. Neither is a flaky test.
TEST_F(RunTrust, AProgramThatFailedAfterItsTestsDoesNotPass) {
  RunResult leak = bstest_run({flaky_tests, "--gtest_filter=Suite.*"}, {{"EXIT_FIXTURE_AFTER", "exit23"}});
  EXPECT_EQ(leak.exit_code, 23) << leak.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/23");
  EXPECT_TRUE(contains(hb.body, "exit_fixture: exit code 23; its main returned 1, then something ended it before its "
                                "exit was over"))
      << hb.body;

  server.reset_received();
  RunResult segv = bstest_run({flaky_tests, "--gtest_filter=Suite.*"}, {{"EXIT_FIXTURE_AFTER", "segv"}});
  // A sanitizer's own SEGV handler ends the program with its exit code or abort() instead.
  if (!kSanitizer) {
    EXPECT_EQ(segv.exit_code, 128 + SIGSEGV) << segv.err;
  }
  EXPECT_NE(segv.exit_code, 0) << segv.err;
  hb = ping();
  EXPECT_EQ(hb.path_suffix, "/" + std::to_string(segv.exit_code)) << hb.body;
  if (kSanitizer) {  // the sanitizer's exit code can be the one main returned: the unfinished exit tells
    EXPECT_TRUE(contains(hb.body, "then something ended it before its exit was over")) << hb.body;
  }

  // The same program, failing only by its flaky test, is forgiven: it exited as its main returned.
  server.reset_received();
  RunResult flaky = bstest_run({flaky_tests, "--gtest_filter=Suite.*"});
  EXPECT_EQ(flaky.exit_code, 0) << flaky.err;
  EXPECT_EQ(ping().path_suffix, "");
}

// A small meson project whose tests are the fixtures, one suite per case. meson names a test
// "<project>:<suite> / <test>" in its log; the lines start with "meson test: ".
class MesonSuite : public RunTrust {
 protected:
  std::string build = dir / "build";

  void SetUp() override {
    std::string src = dir / "src";
    RunSpec mk;
    mk.argv = {"mkdir", "-p", src};
    ASSERT_EQ(run(mk).exit_code, 0);
    write_file(src + "/meson.build",
               "project('suites')\n"
               "flaky = find_program('" + flaky_tests + "')\n"
               "plain = find_program('" + plain_tests + "')\n"
               "test('flaky', flaky, args: ['--gtest_filter=Suite.*'], suite: ['a', 'b', 'c', 'd', 'e'])\n"
               "test('plain', plain, args: ['--gtest_filter=Basic.FailsWithMessage'], suite: 'b')\n"
               "test('leaky', flaky, args: ['--gtest_filter=Suite.Passes'], env: {'EXIT_FIXTURE_AFTER': 'exit23'},"
               " suite: 'c')\n"
               "test('dtor', flaky, args: ['--gtest_filter=Suite.Passes'], env: {'EXIT_FIXTURE_AFTER': 'segv'},"
               " suite: 'd')\n"
               "test('slow', find_program('sleep'), args: ['30'], timeout: 1, suite: 'e')\n");
    RunSpec setup;
    setup.argv = {"meson", "setup", build, src};
    RunResult r = run(setup);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  RunResult meson_test(const std::string& suite) {
    return bstest_run({"meson", "test", "-C", build, "--suite", suite, "--no-rebuild"});
  }
};

TEST_F(MesonSuite, FlakyTestsAloneAreForgiven) {
  RunResult r = meson_test("a");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ping().path_suffix, "");
}

// meson test exits with the number of tests that failed: 2 here (the flaky one and the other).
TEST_F(MesonSuite, ATestWithoutBstestThatFailedIsNamed) {
  RunResult r = meson_test("b");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/2");
  EXPECT_TRUE(contains(hb.body, "\nmeson test: ")) << hb.body;
  EXPECT_TRUE(contains(hb.body, "/ plain: FAIL (exit code 1): no program reporting to bstest ran as this test"))
      << hb.body;
}

TEST_F(MesonSuite, AnExitCodeSetAfterTheTestsIsNamed) {
  RunResult r = meson_test("c");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/2");
  EXPECT_TRUE(contains(hb.body, "/ leaky: FAIL (exit code 23): its program did not end as its tests did"))
      << hb.body;
}

TEST_F(MesonSuite, ACrashInAStaticDestructorIsNamed) {
  RunResult r = meson_test("d");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/2");
  // -11 (SIGSEGV); under a sanitizer, its exit code or abort()'s -6.
  EXPECT_TRUE(contains(hb.body, "/ dtor: FAIL (exit code " + std::string(kSanitizer ? "" : "-11)"))) << hb.body;
  EXPECT_TRUE(contains(hb.body, "its program did not end as its tests did")) << hb.body;
}

TEST_F(MesonSuite, ATimeOutIsNamed) {
  RunResult r = meson_test("e");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/2");
  EXPECT_TRUE(contains(hb.body, "/ slow: TIMEOUT")) << hb.body;
}

// ctest's log keeps no exit codes, but says which tests failed: a program without bstest is told apart.
TEST_F(RunTrust, UnderCtestOnlyFlakyTestsAreForgiven) {
  std::string src = dir / "src", build = dir / "build";
  RunSpec mk;
  mk.argv = {"mkdir", "-p", src, build};
  ASSERT_EQ(run(mk).exit_code, 0);
  write_file(src + "/CMakeLists.txt",
             "cmake_minimum_required(VERSION 3.10)\nproject(suites NONE)\nenable_testing()\n"
             "add_test(NAME flaky COMMAND " + flaky_tests + " --gtest_filter=Suite.*)\n"
             "add_test(NAME plain COMMAND " + plain_tests + " --gtest_filter=Basic.FailsWithMessage)\n");
  RunSpec configure;
  configure.argv = {"cmake", "-S", src, "-B", build};
  RunResult c = run(configure);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  RunResult alone = bstest_run({"ctest", "--test-dir", build, "-R", "flaky"});
  EXPECT_EQ(alone.exit_code, 0) << alone.out << alone.err;
  EXPECT_EQ(ping().path_suffix, "");
  server.reset_received();
  RunResult both = bstest_run({"ctest", "--test-dir", build});
  EXPECT_EQ(both.exit_code, 8) << both.out << both.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/8");
  EXPECT_TRUE(contains(hb.body, "ctest: plain: Failed: no program reporting to bstest ran as this test")) << hb.body;
}

// --- Re-runs start where the program did ----------------------------------------------------------------

TEST_F(RunTrust, AReRunStartsWhereTheProgramDidWithARelativeFolder) {
  write_file(dir / "testdata.txt", "fixture data\n");
  std::string folder = "bs-" + dir.path().substr(dir.path().rfind('-') + 1);  // relative, and unique
  RunResult r = bstest_run({errors_fixture, "--gtest_filter=StartDirectory.*"}, {{"BSTEST_DIR", folder}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto flaky = with_event(records(), "test_flaky");
  ASSERT_EQ(flaky.size(), 1u) << r.err;
  EXPECT_EQ(flaky[0].str("test.full_name"), "StartDirectory.ReadsItsDataThenMovesAway");
  struct stat st {};
  EXPECT_NE(::stat(("/" + folder).c_str(), &st), 0) << "the relative folder was resolved after the chdir";
  EXPECT_TRUE(list_files(dir / (folder + "/journal")).empty()) << "delivered from the folder it started in";
}

// --- Ignored signals stay ignored -----------------------------------------------------------------------

// While it lives, the signals this test looks at are not ignored in this process, so that its children start
// from the defaults whatever ran the tests (the suite itself under nohup, or as a shell's background job).
class DefaultDispositions {
 public:
  DefaultDispositions() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      struct sigaction now {};
      ::sigaction(kSignals[i], nullptr, &now);
      was_ignored_[i] = now.sa_handler == SIG_IGN;
      if (was_ignored_[i]) std::signal(kSignals[i], SIG_DFL);
    }
  }
  ~DefaultDispositions() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      if (was_ignored_[i]) std::signal(kSignals[i], SIG_IGN);
    }
  }
  DefaultDispositions(const DefaultDispositions&) = delete;
  DefaultDispositions& operator=(const DefaultDispositions&) = delete;

 private:
  static constexpr std::array<int, 4> kSignals = {SIGHUP, SIGINT, SIGPIPE, SIGTERM};
  std::array<bool, 4> was_ignored_{};
};

TEST_F(RunTrust, SignalsTheCallerIgnoredStayIgnoredInTheCommandAndItsReRuns) {
  DefaultDispositions defaults;
  // nohup ignores SIGHUP; bstest run ignores SIGPIPE for itself only.
  RunResult a = run(spec_with({"nohup", bstest, "run", "--quiet", "--", errors_fixture, "--gtest_filter=Signals.*"},
                              {{"SIGNALS_OUT", dir / "nohup"}}));
  EXPECT_EQ(a.exit_code, 0) << a.err;
  std::string want = "HUP=ignored\nINT=not ignored\nPIPE=not ignored\nTERM=not ignored\n";
  EXPECT_EQ(read_file(dir / "nohup.1"), want) << "the command";
  EXPECT_EQ(read_file(dir / "nohup.2"), want) << "its re-run";
  // A caller that ignores SIGINT and SIGPIPE (a script's background job, a pipeline's writer).
  RunResult b = run(spec_with({"sh", "-c", "trap '' INT PIPE; exec \"$0\" run --quiet -- \"$1\" --gtest_filter=Signals.*",
                               bstest, errors_fixture},
                              {{"SIGNALS_OUT", dir / "trap"}}));
  EXPECT_EQ(b.exit_code, 0) << b.err;
  want = "HUP=not ignored\nINT=ignored\nPIPE=ignored\nTERM=not ignored\n";
  EXPECT_EQ(read_file(dir / "trap.1"), want) << "the command";
  EXPECT_EQ(read_file(dir / "trap.2"), want) << "its re-run";
}

// --- When the CI kills the job --------------------------------------------------------------------------

// A job's process group killed with SIGKILL (GitLab's job time-out, `timeout -k`): nothing bstest run or a
// provided main started survives and holds the job's output pipe (this harness reads stderr to its end, so
// a survivor would make it time out): neither the tests nor a re-run in progress.
TEST_F(RunTrust, AKillOfTheJobsProcessGroupLeavesNoTestRunning) {
  const std::string until_ready =
      "n=0; until grep -q READY \"$2\" 2>/dev/null || [ -e \"$2.ready\" ]; do sleep 0.05; n=$((n+1)); "
      "[ $n -gt 600 ] && break; done; kill -KILL 0";
  struct Case {
    std::string name;
    std::string start;  // in the background, stdout to $2
  };
  for (const Case& c : {Case{"the command", "\"$0\" run -- \"$1\" crash sleep > \"$2\" &"},
                        Case{"a re-run of bstest run", "\"$0\" run -- \"$3\" > \"$2\" &"},
                        Case{"a re-run of a provided main", "\"$3\" > \"$2\" &"}}) {
    std::string out = dir / ("out-" + std::to_string(c.name.size()));
    RunSpec spec = spec_with({"sh", "-c", c.start + " " + until_ready, bstest, driver, out, rerun_fixture},
                             {{"RERUN_FIXTURE_READY", out + ".ready"}});
    spec.timeout_ms = 30000;
    RunResult r = run(spec);
    EXPECT_FALSE(r.timed_out) << c.name << " outlived the kill of the job's group";
    EXPECT_EQ(r.signal, SIGKILL) << c.name;
    EXPECT_LT(r.seconds, 25) << c.name;
  }
}

// A signal sent to bstest run alone reaches every program of the command, and bstest run, once it shipped
// what they recorded, dies of that signal (as GNU timeout does) instead of exiting 128+N.
TEST_F(RunTrust, ASignalToBstestRunAloneReachesTheTestsAndEndsItByThatSignal) {
  RunSpec spec = spec_with({bstest, "run", "--", "sh", "-c", "\"$0\" crash sleep; echo after", driver});
  spec.signal_on_output = "READY";
  spec.signal = SIGTERM;
  spec.timeout_ms = 30000;
  RunResult r = run(spec);
  EXPECT_EQ(r.signal, SIGTERM) << r.out << r.err;
  EXPECT_FALSE(contains(r.out, "after")) << "the script was stopped too";
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << r.err;
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGTERM") << "the program got the signal itself";
  EXPECT_EQ(ping().path_suffix, "/" + std::to_string(128 + SIGTERM));
}

// bstest run's own threads (its shipper, an HTTP send) block the signals it passes on, so its handler runs on
// the thread that waits for the command, never on a helper in the middle of a send; the waiting thread does
// not block them. Our threads are named "bstest-...", and they leave the fault signals unblocked (a fault
// must reach its handler on the thread that faulted); a sanitizer's own thread, unnamed by us, may block all.
TEST_F(RunTrust, OnlyTheThreadThatWaitsForTheCommandTakesSignals) {
  std::string script = sh_start_until_ready("\"$0\" run -- \"$1\" crash sleep", dir / "out") +
                       "for t in /proc/$p/task/*; do "
                       "echo \"${t##*/} $p $(tr ' ' _ < \"$t/comm\") $(grep SigBlk \"$t/status\")\"; done; "
                       "kill -TERM $p; wait $p";
  RunResult r = run(spec_with({"sh", "-c", script, bstest, driver}));
  int helpers = 0, shippers = 0;
  for (const std::string& line : lines_of(r.out)) {
    char name[32] = {}, status[16] = {};
    unsigned long long tid = 0, pid = 0, blocked = 0;
    if (std::sscanf(line.c_str(), "%llu %llu %31s %15s %llx", &tid, &pid, name, status, &blocked) != 5) continue;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      bool is_blocked = (blocked >> (sig - 1)) & 1u;
      EXPECT_EQ(is_blocked, tid != pid) << "thread " << tid << " of " << pid << ", signal " << sig << ": " << line;
    }
    if (tid != pid) ++helpers;
    if (std::string(name) == "bstest-ship") ++shippers;
    if (tid == pid || std::string(name).rfind("bstest-", 0) == 0) {
      for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) {
        EXPECT_EQ((blocked >> (sig - 1)) & 1u, 0u) << "thread " << tid << " blocks fault signal " << sig << ": " << line;
      }
    }
  }
  EXPECT_GE(helpers, 1) << "the shipper's thread was not found: " << r.out << r.err;
  EXPECT_EQ(shippers, 1) << "no thread named bstest-ship: " << r.out << r.err;
  EXPECT_EQ(with_event(records(), "run_crashed").size(), 1u) << r.err;
}

// Under `timeout -s TERM`: the tests get the TERM, what they recorded is shipped, and nothing is left
// running (the harness reads stderr to its end).
TEST_F(RunTrust, UnderTimeoutTheTestsGetTheSignalAndNothingIsLeftRunning) {
  RunSpec spec = spec_with({"timeout", "-s", "TERM", "3", bstest, "run", "--", driver, "crash", "sleep"});
  spec.timeout_ms = 30000;
  RunResult r = run(spec);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 124) << r.err;
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u) << r.err;
  EXPECT_EQ(crashed[0].str("crash.signal"), "SIGTERM");
  EXPECT_EQ(crashed[0].str("test.full_name"), "Crash.sleep");
  EXPECT_EQ(ping().path_suffix, "/" + std::to_string(128 + SIGTERM));
}

}  // namespace
