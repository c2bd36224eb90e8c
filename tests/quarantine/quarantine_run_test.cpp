// The quarantine file in a run (docs/quarantine.md, "In a run"), as users see it: real test programs (the
// GoogleTest and Catch2 fixtures of this folder, with the provided mains and with a main of their own), alone
// and under `bstest run` (the program itself, `meson test`, shards), against the local Better Stack server.
//   - a quarantined test still runs and reports, its records carry test.quarantine and its error events the
//     `quarantined` tag; its failure or crash fails neither the exit code nor the heartbeat (whose body lists
//     it), nor a shard's summary;
//   - on and after its end date the entry no longer applies: stderr and a quarantine_expired record say so,
//     and the failure fails the run and pings a failure that names the test;
//   - a file with a problem quarantines nothing, says what is wrong, and the tests run;
//   - a quarantined test that passed can be released; an entry that matches no test of a complete run is
//     stale (said, recorded, and listed by `bstest quarantine list`), and only after a complete run;
//   - the programs `bstest run` starts read its file as of its day;
//   - where bstest does not own the exit code, it says it could not change it.
// Dates are relative to today (UTC), as the programs see it.
#include "quarantine/quarantine.hpp"

#include "fake_betterstack.hpp"
#include "process.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <climits>
#include <csignal>
#include <cstdlib>
#include <string>

using namespace bstest::testing;

namespace {

std::string in_days(int n) { return bstest::format_day(bstest::today_utc() + n); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string real(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? buf : path;
}

const std::string kLink = "https://github.com/example/app/issues/412";

// An entry of the file: `test`, a reason, the link, ending in `days` days.
std::string entry(const std::string& test, int days, bool with_link = true) {
  return "test: " + test + "\nreason: the mirror drops range requests\n" + (with_link ? "link: " + kLink + "\n" : "") +
         "until: " + in_days(days) + "\n\n";
}

class QuarantineRun : public ::testing::Test {
 protected:
  std::string bstest = build_path("BSTEST_TEST_BSTEST");
  std::string gtest_main = build_path("BSTEST_TEST_QFIX_MAIN");  // bstest-gtest-main
  std::string gtest_own = build_path("BSTEST_TEST_QFIX_OWN");    // its own main: install() only
  TempDir dir;
  std::string file = dir / ".bstest-quarantine";
  FakeBetterStack server;

  using Env = std::vector<std::pair<std::string, std::string>>;

  void SetUp() override {
    ::mkdir((dir / ".git").c_str(), 0700);  // the folder is a repository: the file is found at its root
    ::mkdir((dir / "build").c_str(), 0700);
  }

  // `argv` in the repository's build folder (the file is found upward), reporting to the server; no
  // re-runs unless `env` asks for them.
  RunResult run_in_repo(std::vector<std::string> argv, const Env& env = {}) {
    RunSpec spec;
    spec.argv = std::move(argv);
    spec.env = server.env();
    spec.env.emplace_back("BSTEST_DIR", dir / "bs");
    spec.env.emplace_back("BSTEST_SHIPPER", bstest);
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "10000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.env.emplace_back("BSTEST_RETRIES", "0");
    for (const auto& e : env) spec.env.push_back(e);
    spec.cwd = dir / "build";
    spec.timeout_ms = 120000;
    RunResult r = run(spec);
    EXPECT_FALSE(r.timed_out) << spec.argv[0];
    return r;
  }

  RunResult bstest_run(std::vector<std::string> command, const Env& env = {}, std::vector<std::string> options = {}) {
    std::vector<std::string> argv = {bstest, "run"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return run_in_repo(std::move(argv), env);
  }

  std::vector<Json> records() { return parse_all(server.records()); }

  // The records of `event` about the test `full_name`.
  std::vector<Json> about(const std::string& event, const std::string& full_name) {
    std::vector<Json> out;
    for (auto& r : with_event(records(), event)) {
      if (r.str("test.full_name") == full_name) out.push_back(r);
    }
    return out;
  }

  // The one ping of the run.
  Heartbeat ping() {
    EXPECT_TRUE(server.wait_for_heartbeats(1, 10000));
    auto pings = server.heartbeats();
    EXPECT_EQ(pings.size(), 1u);
    return pings.empty() ? Heartbeat{} : pings.back();
  }

  // The run_finished of the program's first attempt (re-runs have their own).
  Json owners_run_finished() {
    for (auto& r : with_event(records(), "run_finished")) {
      if (r.num("run.attempt") == 1) return r;
    }
    ADD_FAILURE() << "no run_finished of attempt 1";
    return Json("{}");
  }

  // The Sentry events that arrived, as JSON.
  std::vector<Json> events() {
    std::vector<Json> out;
    for (const auto& e : server.envelopes()) out.emplace_back(e.event);
    return out;
  }

  void expect_quarantine_on(const Json& record) {
    EXPECT_EQ(record.str("test.quarantine.reason"), "the mirror drops range requests") << record.str("event");
    EXPECT_EQ(record.str("test.quarantine.link"), kLink) << record.str("event");
    EXPECT_EQ(record.str("test.quarantine.until"), in_days(30)) << record.str("event");
  }
};

// --- A test program alone ----------------------------------------------------------------------------

// The provided main: the quarantined tests fail, are re-run, get their verdict, and the run passes.
TEST_F(QuarantineRun, AQuarantinedFailureDoesNotFailTheProvidedMain) {
  write_file(file, entry("Net.*", 30));
  RunResult r = run_in_repo({gtest_main, "--gtest_filter=Net.*:Parser.*"}, {{"BSTEST_RETRIES", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "[  FAILED  ] Net.AlwaysFails")) << "the test still ran and failed";
  EXPECT_TRUE(contains(r.err, "bstest: quarantined, failed: quarantine_fixture_main: Net.AlwaysFails (until " +
                                  in_days(30) + ": the mirror drops range requests; " + kLink + ")"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "bstest: PASSED quarantine_fixture_main: 4 tests, 2 passed, 2 failed (2 quarantined)"))
      << r.err;

  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "") << "a success ping";
  EXPECT_EQ(hb.method, "POST") << "with a body that lists the quarantined tests";
  EXPECT_TRUE(contains(hb.body, "quarantined, failed: quarantine_fixture_main: Net.AlwaysFails")) << hb.body;
  EXPECT_TRUE(contains(hb.body, "quarantined, failed: quarantine_fixture_main: Net.Throws")) << hb.body;
  EXPECT_FALSE(contains(hb.body, "FAILED Net.")) << hb.body;

  for (const std::string event : {"test_started", "test_finished", "test_failed"}) {
    auto rs = about(event, "Net.AlwaysFails");
    ASSERT_FALSE(rs.empty()) << event;
    for (const auto& rec : rs) expect_quarantine_on(rec);
  }
  auto passed = about("test_finished", "Parser.Passes");
  ASSERT_EQ(passed.size(), 1u);
  EXPECT_FALSE(passed[0].has("test.quarantine")) << "only the entry's tests are quarantined";
  Json finished = owners_run_finished();
  EXPECT_EQ(finished.str("summary.result"), "passed");
  EXPECT_EQ(finished.num("summary.failed"), 2);
  EXPECT_EQ(finished.num("summary.quarantined"), 2);

  // The uncaught exception's event is tagged, so an alert rule can leave it out.
  ASSERT_TRUE(server.wait_for_envelopes(1, 10000));
  bool tagged = false;
  for (const auto& e : events()) {
    if (e.str("tags.test") == "Net.Throws") tagged = e.str("tags.quarantined") == "true";
    if (e.str("tags.test") == "Parser.Passes") ADD_FAILURE() << "no event for a test that passed";
  }
  EXPECT_TRUE(tagged);
}

// On its end date the entry no longer applies: the run says so, and fails by the test again.
TEST_F(QuarantineRun, AfterItsEndDateTheFailureFailsTheRunAgain) {
  write_file(file, "test: Net.AlwaysFails\nreason: the mirror drops range requests\nlink: " + kLink + "\nuntil: " +
                       in_days(0) + "\n");
  RunResult r = run_in_repo({gtest_main, "--gtest_filter=Net.AlwaysFails:Parser.*"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::string ended = "bstest: quarantine of 'Net.AlwaysFails' (" + real(file) + ":1) ended on " + in_days(0) +
                      ": its failures count again; fix the test, or extend `until` if it is still broken (" + kLink + ")";
  EXPECT_TRUE(contains(r.err, ended)) << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/1") << "a failure ping";
  EXPECT_TRUE(contains(hb.body, "FAILED Net.AlwaysFails")) << hb.body;
  EXPECT_TRUE(contains(hb.body, "quarantine of 'Net.AlwaysFails'")) << hb.body;

  auto notes = with_event(records(), "quarantine_expired");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].str("quarantine.test"), "Net.AlwaysFails");
  EXPECT_EQ(notes[0].str("quarantine.link"), kLink);
  EXPECT_EQ(notes[0].str("quarantine.until"), in_days(0));
  EXPECT_EQ(notes[0].str("quarantine.file"), real(file));
  EXPECT_EQ(notes[0].num("quarantine.line"), 1);
  for (const auto& rec : about("test_finished", "Net.AlwaysFails")) EXPECT_FALSE(rec.has("test.quarantine"));
}

// A file with problems quarantines nothing: each problem is a line, the tests run and count.
TEST_F(QuarantineRun, AMalformedFileQuarantinesNothing) {
  write_file(file, "test: Net.AlwaysFails\nuntil: " + in_days(30) + "\n\ntest: Parser.Passes\nreason: r\nuntil: " +
                       in_days(200) + "\n");
  RunResult r = run_in_repo({gtest_main, "--gtest_filter=Net.AlwaysFails:Parser.*"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "bstest: " + real(file) + ":1: the entry for 'Net.AlwaysFails' has no reason")) << r.err;
  EXPECT_TRUE(contains(r.err, "bstest: " + real(file) + ":6: `until: " + in_days(200) + "` is 200 days away")) << r.err;
  EXPECT_TRUE(contains(r.err, "bstest: " + real(file) + ": 2 problems: nothing in it is quarantined until they are fixed"))
      << r.err;
  EXPECT_EQ(about("test_finished", "Parser.Passes").size(), 1u) << "the tests still run";
  EXPECT_EQ(about("test_finished", "Net.AlwaysFails").size(), 1u);
  for (const auto& rec : records()) EXPECT_FALSE(rec.has("test.quarantine")) << rec.str("event");
  EXPECT_EQ(ping().path_suffix, "/1");
}

// A quarantined test that passes can be released; a run with nothing else to say pings success with that.
TEST_F(QuarantineRun, AQuarantinedTestThatPassesCanBeReleased) {
  write_file(file, entry("Parser.Passes", 30, false));
  RunResult r = run_in_repo({gtest_main, "--gtest_filter=Parser.*"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string line = "quarantined, passed: quarantine_fixture_main: Parser.Passes: it can be released (until " +
                     in_days(30) + ": the mirror drops range requests)";
  EXPECT_TRUE(contains(r.err, "bstest: " + line)) << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "");
  EXPECT_TRUE(contains(hb.body, line)) << hb.body;
  EXPECT_EQ(owners_run_finished().num("summary.quarantine_passed"), 1);
}

// Stale entries are known after a run of every test only; `bstest quarantine list` shows them then.
TEST_F(QuarantineRun, AnEntryThatMatchesNoTestOfACompleteRunIsStale) {
  write_file(file, entry("Net.*", 30) + entry("Gone.Test", 30) + entry("[network]", 30));
  RunResult filtered = run_in_repo({gtest_main, "--gtest_filter=Net.*:Parser.*"});
  EXPECT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_FALSE(contains(filtered.err, "matched no test")) << "a filtered run knows nothing of the rest";
  EXPECT_TRUE(with_event(records(), "quarantine_stale").empty());

  server.reset_received();
  RunResult all = run_in_repo({gtest_main});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  std::string stale = "bstest: quarantine of 'Gone.Test' (" + real(file) +
                      ":6) matched no test in the last complete run (every test, no filter, not a shard) of "
                      "quarantine_fixture_main";
  EXPECT_TRUE(contains(all.err, stale)) << all.err;
  EXPECT_TRUE(contains(all.err, "quarantine of '[network]'")) << "a Catch2 tag matches no GoogleTest test";
  EXPECT_FALSE(contains(all.err, "quarantine of 'Net.*'")) << all.err;
  auto notes = with_event(records(), "quarantine_stale");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].str("quarantine.test"), "Gone.Test");
  EXPECT_EQ(notes[0].str("quarantine.link"), kLink);

  RunResult list = run_in_repo({bstest, "quarantine", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(contains(list.out, "3 entries, 0 expired, 2 stale")) << list.out;
  for (const auto& line : lines_of(list.out)) {
    if (contains(line, "Gone.Test") || contains(line, "Net.*")) {
      EXPECT_EQ(contains(line, "active, stale"), contains(line, "Gone.Test")) << line;
    }
  }
  EXPECT_TRUE(contains(list.out, "stale: matched no test in the last complete run of quarantine_fixture_main")) << list.out;
}

// A crash ends the program as it would without bstest: its records and event say it was quarantined.
TEST_F(QuarantineRun, ACrashInAQuarantinedTestEndsTheProgramAsBefore) {
  write_file(file, entry("Crash.*", 30));
  RunResult r = run_in_repo({gtest_main, "--gtest_filter=Crash.*"}, {{"QFIX_CRASH", "1"}});
  EXPECT_TRUE(ended_by_segv(r)) << r.exit_code << " " << r.err;
  ASSERT_TRUE(server.wait_for_records(3, 10000));
  ASSERT_TRUE(server.wait_for_envelopes(1, 10000));
  auto crashed = with_event(records(), "run_crashed");
  ASSERT_EQ(crashed.size(), 1u);
  expect_quarantine_on(crashed[0]);
  bool tagged = false;
  for (const auto& e : events()) tagged = tagged || (e.str("tags.kind") == "crash" && e.str("tags.quarantined") == "true");
  EXPECT_TRUE(tagged);
}

// The listener alone (the program's own main): the run passes, the exit code is GoogleTest's, and it says so.
TEST_F(QuarantineRun, WhereBstestDoesNotOwnTheExitCodeItSaysSo) {
  write_file(file, entry("Net.AlwaysFails", 30));
  RunResult r = run_in_repo({gtest_own, "--gtest_filter=Net.AlwaysFails:Parser.*"});
  EXPECT_EQ(r.exit_code, 1) << "GoogleTest's own exit code";
  EXPECT_TRUE(contains(r.err, "bstest: only quarantined tests failed: the run passed (its heartbeat says so), but "
                              "bstest could not change the program's exit code"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "bstest: quarantined, failed: quarantine_fixture_own: Net.AlwaysFails")) << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "");
  EXPECT_TRUE(contains(hb.body, "quarantined, failed: quarantine_fixture_own: Net.AlwaysFails")) << hb.body;
  auto finished = about("test_finished", "Net.AlwaysFails");
  ASSERT_EQ(finished.size(), 1u);
  expect_quarantine_on(finished[0]);
}

// --- Under bstest run ----------------------------------------------------------------------------------

TEST_F(QuarantineRun, UnderBstestRunAQuarantinedFailureDoesNotFailTheSuite) {
  write_file(file, entry("Net.AlwaysFails", 30));
  std::string summary = dir / "summary.json";
  for (const std::string& program : {gtest_main, gtest_own}) {
    server.reset_received();
    RunResult r = bstest_run({program, "--gtest_filter=Net.AlwaysFails:Parser.*"}, {{"BSTEST_RETRIES", "1"}},
                             {"--summary-out", summary});
    EXPECT_EQ(r.exit_code, 0) << program << "\n" << r.err;
    std::string name = program == gtest_main ? "quarantine_fixture_main" : "quarantine_fixture_own";
    std::string line = "quarantined, failed: " + name + ": Net.AlwaysFails (until " + in_days(30);
    EXPECT_TRUE(contains(r.err, "Quarantine (failures of quarantined tests do not fail the run):\n  " + line)) << r.err;
    EXPECT_EQ(occurrences(r.err, line), 1u) << "said once, by bstest run" << r.err;
    EXPECT_TRUE(contains(r.err, "bstest run: PASSED")) << r.err;
    Heartbeat hb = ping();
    EXPECT_EQ(hb.path_suffix, "");
    EXPECT_TRUE(contains(hb.body, line)) << hb.body;
    auto verdicts = about("test_failed", "Net.AlwaysFails");
    ASSERT_EQ(verdicts.size(), 1u) << "re-run, and failed every attempt";
    expect_quarantine_on(verdicts[0]);
    auto suite = with_event(records(), "suite_finished");
    ASSERT_EQ(suite.size(), 1u);
    EXPECT_EQ(suite[0].str("summary.result"), "passed");
    EXPECT_EQ(suite[0].num("summary.quarantined"), 1);
    Json s(read_file(summary));
    EXPECT_EQ(s.str("result"), "passed");
    ASSERT_EQ(s.size("quarantine"), 1u);
  }
}

TEST_F(QuarantineRun, UnderBstestRunAfterItsEndDateTheSuiteFailsAndPingsTheTest) {
  write_file(file, entry("Net.AlwaysFails", 0));
  RunResult r = bstest_run({gtest_main, "--gtest_filter=Net.AlwaysFails:Parser.*"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(occurrences(r.err, "quarantine of 'Net.AlwaysFails'"), 1u) << "said once, by bstest run:\n" << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "/1");
  EXPECT_TRUE(contains(hb.body, "quarantine_fixture_main: Net.AlwaysFails")) << hb.body;
  auto notes = with_event(records(), "quarantine_expired");
  ASSERT_EQ(notes.size(), 1u) << "one, in the suite's name";
  EXPECT_EQ(notes[0].str("run.framework"), "suite");
  EXPECT_EQ(notes[0].str("quarantine.link"), kLink);
}

// The crash ends the program and its other tests with it: the suite passes, and says what did not run.
TEST_F(QuarantineRun, UnderBstestRunAQuarantinedCrashDoesNotFailTheSuite) {
  write_file(file, entry("Crash.*", 30));
  RunResult r = bstest_run({gtest_main, "--gtest_filter=Crash.*:Parser.*"}, {{"QFIX_CRASH", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string line = "quarantined, crashed (SIGSEGV): quarantine_fixture_main: Crash.Segfaults: the tests after it in "
                     "quarantine_fixture_main did not run";
  if (kSanitizer) line = "quarantined, crashed";
  EXPECT_TRUE(contains(r.err, line)) << r.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "");
  EXPECT_TRUE(contains(hb.body, line)) << hb.body;

  // Not quarantined, the same crash fails the suite.
  server.reset_received();
  write_file(file, entry("Net.*", 30));
  RunResult again = bstest_run({gtest_main, "--gtest_filter=Crash.*:Parser.*"}, {{"QFIX_CRASH", "1"}});
  EXPECT_NE(again.exit_code, 0) << again.err;
  EXPECT_NE(ping().path_suffix, "");
}

// The nightly shape: `meson test` runs the programs; a quarantined failure and a quarantined crash pass.
TEST_F(QuarantineRun, UnderMesonTestQuarantinedFailuresAndCrashesPass) {
  std::string src = dir / "src";
  ::mkdir(src.c_str(), 0700);
  write_file(src + "/meson.build",
             "project('nightly')\n"
             "prog = find_program('" + gtest_main + "')\n"
             "test('net', prog, args: ['--gtest_filter=Net.AlwaysFails:Parser.*'])\n"
             "test('crash', prog, args: ['--gtest_filter=Crash.*'], env: {'QFIX_CRASH': '1'})\n");
  RunSpec setup;
  setup.argv = {"meson", "setup", dir / "mbuild", src};
  RunResult s = run(setup);
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err;
  write_file(file, entry("Net.AlwaysFails", 30) + entry("Crash.*", 30));
  RunResult r = bstest_run({"meson", "test", "-C", dir / "mbuild"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ping().path_suffix, "");

  server.reset_received();
  write_file(file, entry("Net.AlwaysFails", 30));
  RunResult crash_counts = bstest_run({"meson", "test", "-C", dir / "mbuild"});
  EXPECT_NE(crash_counts.exit_code, 0) << "meson test's own code stands" << crash_counts.err;
  EXPECT_NE(ping().path_suffix, "");
}

// The programs bstest run starts read its file as of its day (a run that crosses midnight judges every test
// by the day it started): given the owner's day, a program applies an entry that has ended since.
TEST_F(QuarantineRun, ProgramsStartedByBstestRunJudgeByItsDay) {
  RunResult day = bstest_run({"sh", "-c", "printf '%s %s' \"$BSTEST_QUARANTINE_DAY\" \"$BSTEST_QUARANTINE\""});
  EXPECT_EQ(day.out, in_days(0) + " ") << "no file found: none given";
  write_file(file, entry("Net.AlwaysFails", 0));
  day = bstest_run({"sh", "-c", "printf '%s %s' \"$BSTEST_QUARANTINE_DAY\" \"$BSTEST_QUARANTINE\""});
  EXPECT_EQ(day.out, in_days(0) + " " + real(file));

  // As bstest run starts its programs, with yesterday as its day.
  RunSpec spec;
  spec.argv = {gtest_main, "--gtest_filter=Net.AlwaysFails"};
  spec.cwd = dir / "build";
  spec.env = {{"BSTEST_ROLE", "child"}, {"BSTEST_RUN_ID", "20260101T000000Z-0123abcd"}, {"BSTEST_DIR", dir / "child"},
              {"BSTEST_QUARANTINE", real(file)}, {"BSTEST_QUARANTINE_DAY", in_days(-1)}};
  RunResult child = run(spec);
  EXPECT_EQ(child.exit_code, 1) << "its owner decides" << child.err;
  EXPECT_EQ(child.err.find("quarantine of"), std::string::npos) << "its owner says what ended:\n" << child.err;
  bool quarantined = false;
  for (const auto& line : journal_lines(dir / "child")) {
    Json rec(line);
    if (rec.str("event") == "test_finished") quarantined = rec.str("test.quarantine.until") == in_days(0);
  }
  EXPECT_TRUE(quarantined) << "judged by yesterday, the entry applied";

  // Given no file, it finds none of its own.
  spec.env = {{"BSTEST_ROLE", "child"}, {"BSTEST_RUN_ID", "20260101T000000Z-4567abcd"}, {"BSTEST_DIR", dir / "child2"},
              {"BSTEST_QUARANTINE_DAY", in_days(-1)}};
  write_file(file, entry("Net.AlwaysFails", 30));
  run(spec);
  for (const auto& line : journal_lines(dir / "child2")) EXPECT_FALSE(Json(line).has("test.quarantine")) << line;
}

// Shards: a shard's summary passes with its quarantined failures, and the gathering ping lists them.
TEST_F(QuarantineRun, ShardSummariesPassAndTheGatheringPingListsTheQuarantinedTests) {
  write_file(file, entry("Net.AlwaysFails", 30));
  std::string summaries = dir / "summaries";
  ::mkdir(summaries.c_str(), 0700);
  for (int shard = 0; shard < 2; ++shard) {
    RunResult r = bstest_run({gtest_main, "--gtest_filter=Net.AlwaysFails:Parser.*"},
                             {{"BSTEST_SUITE_ID", "nightly-1"}, {"GTEST_SHARD_INDEX", std::to_string(shard)},
                              {"GTEST_TOTAL_SHARDS", "2"}},
                             {"--summary-out", summaries + "/s" + std::to_string(shard) + ".json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_TRUE(server.heartbeats().empty()) << "a shard never pings";
  int quarantined_shards = 0;
  for (int shard = 0; shard < 2; ++shard) {
    Json s(read_file(summaries + "/s" + std::to_string(shard) + ".json"));
    EXPECT_EQ(s.str("result"), "passed");
    quarantined_shards += s.size("quarantine") > 0 ? 1 : 0;
  }
  EXPECT_EQ(quarantined_shards, 1) << "GoogleTest ran Net.AlwaysFails in one of the two shards";
  RunResult gather = run_in_repo({bstest, "heartbeat", "--summaries", summaries, "--expect-shards", "2"});
  EXPECT_EQ(gather.exit_code, 0) << gather.err;
  Heartbeat hb = ping();
  EXPECT_EQ(hb.path_suffix, "");
  EXPECT_TRUE(contains(hb.body, ": quarantined, failed: quarantine_fixture_main: Net.AlwaysFails")) << hb.body;
}

// --- Catch2 ----------------------------------------------------------------------------------------------

#ifdef BSTEST_TEST_HAS_CATCH2
TEST_F(QuarantineRun, Catch2TagsQuarantineUntilTheirEndDate) {
  std::string catch2 = build_path("BSTEST_TEST_QFIX_CATCH2");
  write_file(file, entry("[network]", 30));
  RunResult r = run_in_repo({catch2, "~[crash]"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "bstest: quarantined, failed: quarantine_fixture_catch2: download resumes")) << r.err;
  EXPECT_EQ(ping().path_suffix, "");
  auto finished = about("test_finished", "download resumes");
  ASSERT_EQ(finished.size(), 1u);
  expect_quarantine_on(finished[0]);

  server.reset_received();
  write_file(file, entry("[network]", 0));
  RunResult after = run_in_repo({catch2, "~[crash]"});
  EXPECT_NE(after.exit_code, 0) << after.err;
  EXPECT_TRUE(contains(after.err, "quarantine of '[network]'")) << after.err;
  Heartbeat hb = ping();
  EXPECT_NE(hb.path_suffix, "");
  EXPECT_TRUE(contains(hb.body, "FAILED download resumes")) << hb.body;

  // Under bstest run, with a name pattern in either case, as Catch2 compares names.
  server.reset_received();
  write_file(file, entry("Download *", 30));
  RunResult suite = bstest_run({catch2, "~[crash]"});
  EXPECT_EQ(suite.exit_code, 0) << suite.err;
  EXPECT_EQ(ping().path_suffix, "");
}
#endif

}  // namespace
