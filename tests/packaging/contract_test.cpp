// What users build on, checked against what real programs send:
//   Programs.EveryFieldOfTheRecordsIsDocumented   session_driver, the GoogleTest and Catch2 fixture suites
//       (alone, and under `bstest run` with re-runs, in a GitHub Actions job, as a shard), a crash, a hang, a run
//       whose filter matches nothing, a record too large for Better Stack, a quarantine file (a quarantined
//       failure and its verdict, an entry that has ended, stale entries): every key path of every record that
//       reaches the local Better Stack server must be documented in docs/records.md (arrays as `name[]`), and
//       the fields of "Fields every record has" must be on every record of the run in CI (but where the
//       table says "Absent on `event`")
//   Programs.TheVersionIsTheSameEverywhere   `bstest version`, every record's run.bstest_version, the Sentry
//       event's and envelope's sdk.version and the X-Sentry-Auth client report the version of meson.build
//
// docs/records.md is read the way a person reads its tables: the backquoted names in a row's first cell are
// fields; a bare name after a dotted one is its sibling (`summary.total`, `passed`); a `<...>` segment stands
// for any key (`test.properties.<key>`); a row that says "the fields of `X`" gives its field X's fields.
// A field that holds documented fields (`run`, `test.failures[]`) counts as documented.
#include "fake_betterstack.hpp"
#include "process.hpp"
#include "records_doc.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace bstest::testing;

namespace {

std::string env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v != nullptr ? v : "";
}

using EnvList = std::vector<std::pair<std::string, std::string>>;
// A GitHub Actions job of a scheduled workflow, as its runner sets the variables.
const EnvList kGithub = {
    {"CI", "true"},
    {"GITHUB_ACTIONS", "true"},
    {"GITHUB_RUN_ID", "9001"},
    {"GITHUB_RUN_ATTEMPT", "2"},
    {"GITHUB_SERVER_URL", "https://github.com"},
    {"GITHUB_REPOSITORY", "example/project"},
    {"GITHUB_WORKFLOW", "nightly"},
    {"GITHUB_JOB", "tests"},
    {"GITHUB_SHA", "4f1c2b7e9d0a"},
    {"GITHUB_REF_NAME", "main"},
    {"GITHUB_EVENT_NAME", "schedule"},
};

class Programs : public ::testing::Test {
 protected:
  // Runs argv (a path from the environment first) against `server`, with `extra` variables.
  RunResult run_against(FakeBetterStack& server, std::vector<std::string> argv, const EnvList& extra = {}) {
    RunSpec spec;
    spec.argv = std::move(argv);
    spec.cwd = dir.path();
    spec.env = server.env();
    spec.env.emplace_back("BSTEST_DIR", dir / "journal");
    spec.env.emplace_back("BSTEST_SHIPPER", env("BSTEST_TEST_BSTEST"));
    spec.env.emplace_back("BSTEST_FLUSH_TIMEOUT_MS", "15000");
    spec.env.emplace_back("BSTEST_FLUSH_INTERVAL_MS", "100");
    spec.env.insert(spec.env.end(), extra.begin(), extra.end());
    spec.timeout_ms = 120000;
    RunResult r = run(spec);
    EXPECT_FALSE(r.timed_out) << spec.argv[0];
    return r;
  }

  static std::string program(const char* variable) {
    std::string p = env(variable);
    EXPECT_FALSE(p.empty()) << variable << " is not set (tests/packaging/meson.build sets it)";
    return p;
  }

  TempDir dir;
};

// "YYYY-MM-DD", `n` days from today (UTC).
std::string in_days(int n) {
  std::time_t t = std::time(nullptr) + static_cast<std::time_t>(n) * 86400;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string quarantine_entry(const std::string& test, int days) {
  return "test: " + test + "\nreason: known broken\nlink: https://example.com/bug/7\nuntil: " + in_days(days) + "\n\n";
}

// Whether a record of `event` arrives at `server` within 10 s (a crashed program's last records are sent by its
// companion after it died).
bool arrives(const FakeBetterStack& server, const std::string& event) {
  for (int i = 0; i < 100; ++i) {
    for (const auto& r : parse_all(server.records())) {
      if (r.str("event") == event) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Every key path of the records `server` received, with the events it was seen on.
void add_paths(const FakeBetterStack& server, Paths& paths) {
  for (const auto& text : server.records()) {
    Json record(text);
    ASSERT_TRUE(record.ok()) << text.substr(0, 300);
    collect(record.doc(), "", record.str("event"), paths);
  }
}

TEST_F(Programs, EveryFieldOfTheRecordsIsDocumented) {
  RecordsDoc doc(read_file(env("BSTEST_TEST_SOURCE_ROOT") + "/docs/records.md"));
  ASSERT_GT(doc.size(), 50u) << "docs/records.md has no tables of fields";

  FakeBetterStack server;
  std::string driver = program("BSTEST_TEST_DRIVER");
  std::string bstest = program("BSTEST_TEST_BSTEST");
  run_against(server, {driver, "basic"});
  run_against(server, {driver, "nasty"});
  FakeBetterStack crash;
  run_against(crash, {driver, "crash", "abort"});
  EXPECT_TRUE(arrives(crash, "run_crashed"));
  std::string gtest_main = program("BSTEST_TEST_GTEST_FIXTURE_MAIN");
  // A sharded suite in CI, with flaky and broken tests that are run again.
  FakeBetterStack ci;
  run_against(ci,
              {bstest, "run", "--", gtest_main,
               "--gtest_filter=Basic.*:Flaky.*:Typed/*:Values/*:SetUpFails.*:TearDownFails.*"},
              [] {
                EnvList e = kGithub;
                e.insert(e.end(), {{"FIXTURE_FLAKY", "1"}, {"BSTEST_SHARD_INDEX", "1"}, {"BSTEST_SHARD_TOTAL", "3"}});
                return e;
              }());
  // The listener alone (no re-runs), GoogleTest's own sharding, shuffling and repeating, disabled tests run.
  run_against(server, {program("BSTEST_TEST_GTEST_FIXTURE"), "--gtest_filter=Basic.*:Flaky.*:DISABLED_WholeSuite.*",
                       "--gtest_shuffle", "--gtest_repeat=2", "--gtest_also_run_disabled_tests"},
              {{"FIXTURE_FLAKY", "1"}, {"GTEST_TOTAL_SHARDS", "2"}, {"GTEST_SHARD_INDEX", "0"}});
  run_against(server, {gtest_main, "--gtest_filter=NoSuch.Test"});
  std::string catch2_main = env("BSTEST_TEST_CATCH2_FIXTURE_MAIN");
  if (!catch2_main.empty()) {
    run_against(server, {catch2_main});
    run_against(server, {catch2_main, "[a,b]"});
  }
  // A quarantine file: a quarantined failure and its verdict under bstest run, an entry that has ended, and a
  // complete Catch2 run after which the entries that match none of its tests are stale.
  std::string quarantine_file = dir / "quarantine";
  write_file(quarantine_file, quarantine_entry("Basic.FailsWithMessage", 30) + quarantine_entry("Basic.Throws*", 0) +
                                  quarantine_entry("check fails with info", 30) + quarantine_entry("no such test", 30));
  FakeBetterStack quarantine;
  run_against(quarantine, {bstest, "run", "--", gtest_main, "--gtest_filter=Basic.FailsWithMessage:Basic.Passes"},
              {{"BSTEST_QUARANTINE", quarantine_file}});
  if (!catch2_main.empty()) run_against(quarantine, {catch2_main}, {{"BSTEST_QUARANTINE", quarantine_file}});
  // A record too large for Better Stack even alone is replaced by a note.
  FakeBetterStack::Options small;
  small.max_record_bytes = 16 << 10;
  FakeBetterStack strict(small);
  run_against(strict, {driver, "nasty"});

  // A test that hangs (it waits until it is killed, here by the time-out): test_hanging while it runs.
  FakeBetterStack hang;
  {
    RunSpec spec;
    spec.argv = {driver, "crash", "sleep"};
    spec.cwd = dir.path();
    spec.env = hang.env();
    spec.env.insert(spec.env.end(), {{"BSTEST_DIR", dir / "journal"}, {"BSTEST_SHIPPER", bstest},
                                     {"BSTEST_FLUSH_INTERVAL_MS", "100"}, {"BSTEST_HANG_AFTER_MS", "500"}});
    spec.timeout_ms = 8000;
    run(spec);
    EXPECT_TRUE(arrives(hang, "test_hanging"));
  }

  Paths paths;
  add_paths(server, paths);
  add_paths(crash, paths);
  add_paths(hang, paths);
  add_paths(ci, paths);
  add_paths(strict, paths);
  add_paths(quarantine, paths);
  std::set<std::string> events;
  for (const auto& [path, seen] : paths) events.insert(seen.begin(), seen.end());
  for (const std::string event : {"run_started", "test_started", "test_finished", "fixture_failed", "run_problem",
                                  "run_crashed", "test_flaky", "test_failed", "run_finished", "suite_started",
                                  "suite_finished", "record_dropped", "quarantine_expired"}) {
    EXPECT_TRUE(events.count(event)) << "no " << event << " record arrived: the scenarios no longer cover it";
  }
  if (!catch2_main.empty()) {
    EXPECT_TRUE(events.count("quarantine_stale")) << "the complete Catch2 run has stale entries";
  }
  for (const std::string path : {"ci.provider", "run.shard_index", "run.random_seed", "test.failures_omitted",
                                 "test.rerun", "test.attempts", "summary.programs", "dropped.id",
                                 "test.quarantine.link", "summary.quarantined", "quarantine.file"}) {
    EXPECT_TRUE(paths.count(path)) << "no record had " << path << ": the scenarios no longer cover it";
  }
  for (const auto& [path, seen] : paths) {
    std::string on;
    for (const auto& e : seen) on += (on.empty() ? "" : ", ") + e;
    EXPECT_TRUE(doc.documents(path)) << "`" << path << "` (on " << on << ") is not documented in docs/records.md";
  }

  ASSERT_GE(doc.every_record().size(), 6u) << "docs/records.md has no table \"Fields every record has\"";
  std::vector<Json> in_ci = parse_all(ci.records());
  ASSERT_FALSE(in_ci.empty());
  for (const auto& record : in_ci) {
    // A failed test's result has the whole run and ci; a passing or skipped one is short (docs/records.md).
    if (record.str("event") == "test_finished") {
      const bool failed = record.str("test.result") == "failed";
      EXPECT_EQ(record.has("ci"), failed) << record.str("message");
      EXPECT_EQ(record.has("run.host"), failed) << record.str("message");
      EXPECT_EQ(record.has("test.name"), failed || record.str("test.result") == "disabled") << record.str("message");
    }
    for (const auto& [field, absent_on] : doc.every_record()) {
      if (absent_on.count(record.str("event"))) continue;
      EXPECT_TRUE(record.has(field)) << "docs/records.md says every record has `" << field << "`, but this "
                                     << record.str("event") << " has none";
    }
  }
}

TEST_F(Programs, TheVersionIsTheSameEverywhere) {
  std::string version = env("BSTEST_TEST_VERSION");
  ASSERT_FALSE(version.empty());
  RunSpec v;
  v.argv = {program("BSTEST_TEST_BSTEST"), "version"};
  EXPECT_EQ(run(v).out, "bstest " + version + "\n");

  FakeBetterStack server;
  run_against(server, {program("BSTEST_TEST_GTEST_FIXTURE_MAIN"), "--gtest_filter=Flaky.PassesOnSecondAttempt"},
              {{"FIXTURE_FLAKY", "1"}});
  std::vector<Json> records = parse_all(server.records());
  ASSERT_FALSE(records.empty());
  // Every record with the whole run (a short one, of a test that did not fail, leaves it to run_started).
  for (const auto& r : records) {
    if (r.has("run.host")) {
      EXPECT_EQ(r.str("run.bstest_version"), version) << r.str("event");
    }
  }
  EXPECT_EQ(with_event(records, "run_started").at(0).str("run.bstest_version"), version);
  ASSERT_TRUE(server.wait_for_envelopes(1, 10000));
  for (const auto& e : server.envelopes()) {
    Json event(e.event);
    EXPECT_EQ(event.str("sdk.name"), "bstest");
    EXPECT_EQ(event.str("sdk.version"), version);
    EXPECT_EQ(Json(e.header).str("sdk.version"), version);
    EXPECT_EQ(e.auth.at("sentry_client"), "bstest/" + version);
  }
}

}  // namespace
