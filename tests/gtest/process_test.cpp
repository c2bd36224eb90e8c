// bstest never changes what a test program does with its own process: its children (the companion shipper
// is never one of them), its signal handlers (each sees what it would have seen without bstest), the
// children it forks (they do not hold the run open) and its disk (a refused ring page is no crash).
// The cases are in process_fixture.cpp, a GoogleTest program linked with bstest-gtest-auto.
#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <vector>

using namespace bstest::testing;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

class Process : public ::testing::Test {
 protected:
  std::string fixture = build_path("BSTEST_TEST_PROCESS_FIXTURE");
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  TempDir dir;

  // The fixture with `filter`, reporting to `server` (nullptr: nothing configured, records stay on disk).
  RunResult run_case(const std::string& filter, FakeBetterStack* server, Env env = {}, int flush_timeout_ms = 5000,
                     int timeout_ms = 30000) {
    Env vars = server != nullptr ? server->env() : Env{};
    vars.insert(vars.end(), env.begin(), env.end());
    RunSpec spec = reporting_run(dir, {fixture, "--gtest_filter=" + filter}, bstest, flush_timeout_ms, vars);
    spec.timeout_ms = timeout_ms;
    return run(spec);
  }

  static std::vector<Json> crash_records(const std::vector<Json>& records) { return with_event(records, "run_crashed"); }
};

// ------------------------------------------------------------------------------------------------------
// Children

// The companion shipper runs (a server is configured), and the tests still find no child they did not
// start: one reaps with wait() until ECHILD (it would hang until the time-out), one asks waitpid(-1,
// WNOHANG) first, one reaps with a WNOHANG loop.
TEST_F(Process, TheCompanionIsNeverAChildOfTheTestProgram) {
  FakeBetterStack server;
  RunResult r = run_case("Children.*", &server, {}, 5000, 20000);
  ASSERT_FALSE(r.timed_out) << "a test waited for a child it did not start\n" << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[  PASSED  ] 3 tests"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("shipped at exit"), std::string::npos) << "the companion did not ship: " << r.err;
  // The exit still waited for the companion: everything arrived before the program ended.
  auto records = parse_all(server.records());
  EXPECT_EQ(with_event(records, "test_finished").size(), 3u);
  EXPECT_EQ(with_event(records, "run_finished").size(), 1u);
  EXPECT_EQ(server.heartbeats().size(), 1u);
}

// When the server stalls, the exit waits for the companion no longer than BSTEST_FLUSH_TIMEOUT_MS, and says
// what was not sent.
TEST_F(Process, TheExitWaitForTheCompanionIsBoundedWhenTheServerStalls) {
  FakeBetterStack server;
  Fault hang;
  hang.kind = Fault::Kind::hang;
  server.inject(Channel::any, hang, -1);
  RunResult r = run_case("Children.*", &server, {{"BSTEST_REQUEST_TIMEOUT_MS", "60000"}}, 2000, 30000);
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(r.seconds, 2.0 + 1.5) << r.err;
  EXPECT_NE(r.err.find("not everything was sent within BSTEST_FLUSH_TIMEOUT_MS=2000 ms"), std::string::npos) << r.err;
}

// A test program that is a child subreaper would get the companion back as its child: it ships at its end
// instead, in the process, and says so.
TEST_F(Process, ASubreaperShipsAtItsEndInsteadOfStartingTheCompanion) {
  FakeBetterStack server;
  RunResult r = run_case("Children.*", &server, {{"FIXTURE_SUBREAPER", "1"}}, 5000, 20000);
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("[shipped at exit: the test program is a child subreaper"), std::string::npos) << r.err;
  EXPECT_EQ(with_event(parse_all(server.records()), "test_finished").size(), 3u);
}

// ------------------------------------------------------------------------------------------------------
// Signals

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// The fault reaches AddressSanitizer (installed before bstest) as the kernel reported it.
TEST_F(Process, ANullDereferenceReachesTheSanitizerWithItsAddress) {
  if (!kAddressSanitizer) GTEST_SKIP() << "AddressSanitizer builds only (build/asan)";
  FakeBetterStack server;
  RunResult r = run_case("Signals.NullDereference", &server);
  EXPECT_TRUE(ended_by_segv(r) || r.exit_code != 0) << r.err;
  EXPECT_NE(r.err.find("SEGV on unknown address 0x000000000000"), std::string::npos) << r.err;
  ASSERT_TRUE(server.wait_for_records(3, 10000));
  auto crashes = crash_records(parse_all(server.records()));
  ASSERT_EQ(crashes.size(), 1u);
  EXPECT_EQ(crashes[0].str("test.full_name"), "Signals.NullDereference");
}

// In any build: the program's own SA_SIGINFO handler, installed before bstest, sees the true si_code and
// si_addr, and the process still ends by SIGSEGV with bstest's crash record written.
TEST_F(Process, TheProgramsOwnHandlerSeesTheFaultAsTheKernelReportedIt) {
  FakeBetterStack server;
  RunResult r = run_case("Signals.FaultAtAKnownAddress", &server, {{"FIXTURE_SEGV_HANDLER", "1"}});
  EXPECT_TRUE(ended_by_segv(r)) << r.exit_code << " " << r.signal << r.err;
  EXPECT_NE(r.err.find("own handler: si_code=1 si_addr=0x10\n"), std::string::npos)
      << "si_code 1 is SEGV_MAPERR\n" << r.err;
  ASSERT_TRUE(server.wait_for_records(3, 10000));
  auto crashes = crash_records(parse_all(server.records()));
  ASSERT_EQ(crashes.size(), 1u);
  EXPECT_EQ(crashes[0].str("crash.signal"), "SIGSEGV");
}

// A handler installed after bstest that restores the one it replaced (bstest's) and raises, as absl's
// failure signal handler does, then a crash in a static destructor after the run: the program dies of
// SIGSEGV at once instead of looping between the two handlers.
TEST_F(Process, AHandlerThatHandsTheSignalBackAfterTheRunEndsTheProgramAtOnce) {
  RunResult r = run_case("Signals.HandlerAfterBstestThenACrashInAStaticDestructor", nullptr, {}, 5000, 15000);
  ASSERT_FALSE(r.timed_out) << "the signal went round in circles\n" << r.err;
  EXPECT_TRUE(ended_by_segv(r)) << r.exit_code << " " << r.signal << r.err;
  EXPECT_LT(r.seconds, 10.0);
}

// A SIGTERM the program's own handler (installed before bstest) takes is not a crash: the handler gets
// it, the run goes on, and no crash record is written.
TEST_F(Process, ASigtermTheProgramHandlesIsNoCrash) {
  FakeBetterStack server;
  RunResult r = run_case("Signals.TermHandledByTheProgram*", &server, {{"FIXTURE_TERM_HANDLER", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[  PASSED  ] 2 tests"), std::string::npos) << r.out;
  auto records = parse_all(server.records());
  EXPECT_TRUE(crash_records(records).empty()) << "a handled SIGTERM was recorded as a crash";
  EXPECT_EQ(with_event(records, "run_finished").size(), 1u);
  EXPECT_NE(r.err.find("PASSED"), std::string::npos) << r.err;
}

// Two threads fault at once: one crash record, whole, and the process dies of the signal. Repeated, since
// which thread comes second varies.
TEST_F(Process, TwoThreadsCrashingAtOnceGiveOneWholeCrashRecord) {
  // Under ThreadSanitizer, bstest hands each fault on to TSan's own SIGSEGV handler, whose report
  // ("ThreadSanitizer:DEADLYSIGNAL") has once hung with two threads in it at the same time, until the time-out:
  // a fault of the runtime, not of the handler tested here. handle_segv=0 leaves the default action behind
  // bstest's handler, as in a program without sanitizer. (Ignored by the other builds.)
  const char* tsan = std::getenv("TSAN_OPTIONS");
  Env env = {{"TSAN_OPTIONS", std::string(tsan != nullptr ? tsan : "") + ":handle_segv=0"}};
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    FakeBetterStack server;
    RunResult r = run_case("Signals.TwoThreadsCrashAtOnce", &server, env);
    EXPECT_TRUE(ended_by_segv(r)) << r.exit_code << " " << r.signal << r.err;
    ASSERT_TRUE(server.wait_for_records(3, 10000)) << r.err;
    // Everything the companion will send has arrived once the run's crash has (the shipper sends it last).
    std::vector<Json> crashes;
    for (int i = 0; i < 100 && crashes.empty(); ++i) {
      crashes = crash_records(parse_all(server.records()));
      if (crashes.empty()) ::usleep(50000);
    }
    ASSERT_EQ(crashes.size(), 1u) << r.err;
    EXPECT_EQ(crashes[0].str("test.full_name"), "Signals.TwoThreadsCrashAtOnce");
    EXPECT_EQ(crashes[0].str("crash.signal"), "SIGSEGV");
    EXPECT_EQ(crashes[0].size("test.failures"), 40u) << "the crash record is not the test program's own, whole one";
  }
}

// ------------------------------------------------------------------------------------------------------
// Forks and disks

// A test forks a child that lingers (a daemon it starts, without exec): the run still ends as soon as the
// companion has sent everything, and says so, instead of waiting out BSTEST_FLUSH_TIMEOUT_MS.
TEST_F(Process, AForkedChildThatLingersDoesNotHoldTheRunOpen) {
  FakeBetterStack server;
  std::string pid_file = dir / "daemon.pid";
  RunResult r = run_case("Forks.ADaemonThatLingers", &server, {{"FIXTURE_PID_FILE", pid_file}}, 8000);
  std::string pid = read_file(pid_file);
  if (std::atoi(pid.c_str()) > 0) ::kill(std::atoi(pid.c_str()), SIGKILL);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 5.0) << "the exit waited for the forked child\n" << r.err;
  EXPECT_EQ(r.err.find("not everything was sent"), std::string::npos) << r.err;
  auto records = parse_all(server.records());
  EXPECT_EQ(with_event(records, "run_finished").size(), 1u);
  EXPECT_EQ(server.heartbeats().size(), 1u);
}

// The ring file is cut short under the running writer (as a full copy-on-write file system or a quota
// refuses a page even after posix_fallocate): the next write into the ring raises SIGBUS. The program goes
// on, warns once, and every record reaches the journal file.
TEST_F(Process, ARingPageTheFileSystemRefusesIsNoCrashAndLosesNothing) {
  RunResult r = run_case("Disk.RingCutShortUnderTheWriter:Many/DiskAfter.*", nullptr);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.signal, 0) << r.err;
  EXPECT_NE(r.out.find("[  PASSED  ] 41 tests"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("the file system refused a page of the journal's ring"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("lost"), std::string::npos) << r.err;
  auto records = parse_all(journal_lines(dir / "bs"));
  EXPECT_EQ(with_event(records, "test_started").size(), 41u);
  EXPECT_EQ(with_event(records, "test_finished").size(), 41u);
  EXPECT_EQ(with_event(records, "run_finished").size(), 1u);
  EXPECT_TRUE(crash_records(records).empty());
  std::set<std::string> ids;
  for (auto& rec : records) {
    if (rec.has("id")) {
      EXPECT_TRUE(ids.insert(rec.str("id")).second) << "twice: " << rec.str("id");
    }
  }
}

// The same on a real file system out of space: a 4 MiB tmpfs (in a mount namespace, so root only) whose
// ring pages past the one being written lost their blocks and that is then filled to the last page. The
// program goes on and passes; it cannot write the journal either, so it says so once and counts what it
// lost; everything written before is still in the ring file, and a `bstest flush` once there is room
// again delivers it: what arrives plus what was counted lost is every record the program made.
TEST_F(Process, ARingPageOnAFullFileSystemIsNoCrashAndWhatWasWrittenIsKept) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  RunSpec probe;
  probe.argv = {"unshare", "-m", "true"};
  if (run(probe).exit_code != 0) GTEST_SKIP() << "cannot create a mount namespace here";
  FakeBetterStack server;
  RunSpec spec;
  spec.argv = {"unshare", "-m", "sh", "-c",
               "mkdir -p \"$1\" && mount -t tmpfs -o size=4m tmpfs \"$1\" || exit 99\n"
               "env -u BETTERSTACK_SOURCE_TOKEN -u BETTERSTACK_INGEST_HOST -u BETTERSTACK_ERRORS_DSN \\\n"
               "  -u BETTERSTACK_UPTIME_HEARTBEAT_URL BSTEST_DIR=\"$1/bs\" FIXTURE_FILLER=\"$1/filler\" \\\n"
               "  \"$0\" '--gtest_filter=Disk.RingPageWithoutSpace:Many/DiskAfter.*'\n"
               "rc=$?\n"
               "rm -f \"$1/filler\"\n"
               "\"$2\" flush \"$1/bs\" --deadline-ms 5000 >/dev/null 2>&1\n"
               "exit $rc",
               fixture, dir / "small", bstest};
  spec.env = server.env();
  spec.env.emplace_back("BSTEST_SHIPPER", bstest);
  spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
  RunResult r = run(spec);
  ASSERT_NE(r.exit_code, 99) << "no tmpfs: " << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.signal, 0) << r.err;
  EXPECT_NE(r.out.find("[  PASSED  ] 41 tests"), std::string::npos) << r.out;
  std::smatch made, lost;
  ASSERT_TRUE(std::regex_search(r.err, made, std::regex("; ([0-9]+) records kept in "))) << r.err;
  ASSERT_TRUE(std::regex_search(r.err, lost, std::regex("; ([0-9]+) records? lost \\(the journal could not be written\\)")))
      << r.err;
  EXPECT_NE(r.err.find("bstest: cannot write to the journal"), std::string::npos) << r.err;
  // The program's own records; its run_finished was among the lost ones, so the shipper also reports the
  // run as ended without its end (a record of its own, crash.reason "ended").
  std::vector<Json> records;
  for (auto& rec : parse_all(server.records())) {
    if (rec.str("event") == "run_crashed") {
      EXPECT_EQ(rec.str("crash.reason"), "ended");
    } else {
      records.push_back(rec);
    }
  }
  // A test that passed is one record in Logs: its start, in the journal (gone with the tmpfs), was left out.
  std::set<std::string> started_names;
  for (auto& rec : with_event(records, "test_started")) started_names.insert(rec.str("test.full_name"));
  std::size_t starts_left_out = 0;
  for (auto& rec : with_event(records, "test_finished")) {
    if (rec.str("test.result") != "failed" && started_names.count(rec.str("test.full_name")) == 0) ++starts_left_out;
  }
  EXPECT_GT(std::stoul(lost[1]), 0u);
  EXPECT_EQ(records.size() + starts_left_out + std::stoul(lost[1]), std::stoul(made[1])) << r.err;
  EXPECT_EQ(with_event(records, "run_started").size(), 1u);
  ASSERT_GT(records.size(), 1u);
  EXPECT_EQ(records[1].str("test.full_name"), "Disk.RingPageWithoutSpace") << "the first test's record";
  std::set<std::string> ids;
  for (auto& rec : records) {
    EXPECT_TRUE(ids.insert(rec.str("id")).second) << "twice: " << rec.str("id");
  }
}

}  // namespace
